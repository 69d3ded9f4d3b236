"""The typer application. Each command lives in its own module and imports heavy modules lazily,
so that `archscale lr` starts in a fraction of a second."""

from __future__ import annotations

import sys

import typer

from archscale.cli import lr
from archscale.errors import UserError

app = typer.Typer(
    name="archscale",
    help="Hyperparameter-comparison studies: Optuna-tuned vs principled architecture-aware learning rates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("lr")(lr.lr)


def fail(message: str) -> None:
    """Print one error line to stderr and exit with status 2."""
    print(f"archscale: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    """Console entry point: user errors become one line and exit status 2, never a traceback."""
    try:
        app()
    except UserError as exc:
        fail(str(exc))
