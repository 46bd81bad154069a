"""`imrf run`: the main job (what `make run` starts)."""

from __future__ import annotations

import datetime as dt

import typer

from imrf.cli.app import app


@app.command()
def run() -> None:
    """Show the calendar of the next forum edition (as of today in New York)."""
    import pendulum

    from imrf.calendar import build_calendar, next_edition
    from imrf.cli.calendar import _table

    today_ny = pendulum.now("America/New_York").date()
    edition = next_edition(dt.date(today_ny.year, today_ny.month, today_ny.day))
    typer.echo(_table(build_calendar(edition)), nl=False)
