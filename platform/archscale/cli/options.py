"""Options shared by the commands that use the results database (kept free of heavy imports)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

DB_ENV_VAR = "ARCHSCALE_DB"  # archscale.store.url.ENV_VAR, repeated here to keep start-up light


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=DB_ENV_VAR,
        show_envvar=True,
        help="Results database URL: sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB "
        "[default: sqlite:///archscale.db in the working directory].",
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", case_sensitive=False, help="table (for people), csv or json.")
]
ArchitecturesArgument = Annotated[
    list[str] | None, typer.Argument(help="Architectures in any notation; none: read lines from stdin.")
]
FamilyOption = Annotated[str | None, typer.Option(help="mlp, cnn or nb201 (inferred from the notation when omitted).")]

# A user's own torch model (`archscale lr --torch`, `archscale model --torch`).
TorchOption = Annotated[
    str | None,
    typer.Option(
        "--torch",
        metavar="PACKAGE.MODULE:CALLABLE",
        help="Your own nn.Module: a factory to import (the current directory is importable) and trace.",
    ),
]
ArgsOption = Annotated[str | None, typer.Option("--args", help="Keyword arguments of the --torch factory, as JSON.")]
UnsupportedOption = Annotated[
    str,
    typer.Option(help="--torch: an op the theory does not cover is an error, or with 'ignore' depth-neutral."),
]

# The study options of `archscale run` and `archscale submit` (the same on both).
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a YAML field: key.path=value (repeatable).")
]
ResumeOption = Annotated[
    bool, typer.Option(help="Finish a stored study, with the study stored in the database if this YAML differs.")
]
NewNameOption = Annotated[str | None, typer.Option(help="Run this YAML under another study name.")]
UpgradeDbOption = Annotated[bool, typer.Option(help="Upgrade a database whose schema is behind.")]
