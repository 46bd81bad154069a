"""Entry point of the `imrf` console script.

Each command module registers itself on the shared app when imported. Modules import heavy
dependencies (SQLAlchemy, sendgrid, Prefect) inside their commands, never at module level:
`imrf calendar` must start in well under a second.
"""

from __future__ import annotations

# Command modules (import for their registration side effect).
from imrf.cli import calendar as _calendar  # noqa: F401
from imrf.cli import contacts as _contacts  # noqa: F401
from imrf.cli import cycle as _cycle  # noqa: F401
from imrf.cli import forum as _forum  # noqa: F401
from imrf.cli import holidays as _holidays  # noqa: F401
from imrf.cli import inputs as _inputs  # noqa: F401
from imrf.cli import ledger as _ledger  # noqa: F401
from imrf.cli import notify as _notify  # noqa: F401
from imrf.cli import programme as _programme  # noqa: F401
from imrf.cli import run as _run  # noqa: F401
from imrf.cli import site as _site  # noqa: F401
from imrf.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
