"""Where architectures come from on the command line: arguments, a file, or standard input."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from archscale.errors import UserError


@dataclass(frozen=True)
class InputLine:
    """One architecture to process; `number` is its 1-based line (or argument) number."""

    number: int
    text: str


def read_architectures(args: list[str] | None, file: Path | None) -> tuple[list[InputLine], bool]:
    """Collect architectures from arguments, else `file`, else standard input.

    Blank lines and lines starting with '#' are skipped (numbering still counts them). Returns the
    lines and whether this is batch mode (a file, standard input, or several arguments).
    """
    if args:
        if file is not None:
            raise UserError("give architectures as arguments or with --file, not both")
        return [InputLine(i, a) for i, a in enumerate(args, start=1)], len(args) > 1
    if file is not None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise UserError(f"cannot read {file}: {exc.strerror}") from None
    elif sys.stdin.isatty():
        raise UserError("no architecture given: pass ARCH arguments, --file PATH, or lines on standard input")
    else:
        text = sys.stdin.read()
    lines = [
        InputLine(i, line.strip())
        for i, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return lines, True
