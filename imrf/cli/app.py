"""The root Typer application and the one way a command reports a user error."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

app = typer.Typer(
    name="imrf",
    help="Review-cycle orchestrator for the International Migration Review Forum.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print a one-line error (no traceback) and exit: bad input is the user's to fix."""
    print(f"imrf: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


@app.callback()
def _root() -> None:
    """Review-cycle orchestrator for the International Migration Review Forum (IMRF).

    Calendar, notifications and the Prefect flows of the four-year cycle of the Global Compact
    for Safe, Orderly and Regular Migration.
    """
