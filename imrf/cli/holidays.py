"""`imrf holidays YEAR`: the UN Headquarters holidays the calendar engine uses for a year."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated

import typer

from imrf.cli.app import app, fail


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command("holidays")
def holidays_command(
    year: Annotated[str, typer.Argument(metavar="YEAR", help="Gregorian year, e.g. 2026.")],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table for people, json for scripts.")
    ] = OutputFormat.TABLE,
    holidays_dir: Annotated[
        Path | None,
        typer.Option(
            "--holidays-dir",
            help="Directory of <YEAR>.yaml official lists (default: $IMRF_HOLIDAYS_DIR or "
            "the repo's config/holidays).",
        ),
    ] = None,
) -> None:
    """List the days UN Headquarters is closed in YEAR (the official list, else the rule)."""
    # Parsed here rather than by typer so a bad year gets the same one-line error as the rest.
    if not year.strip().isdigit():
        fail(f"YEAR must be a Gregorian year such as 2026, got {year!r}")
    from imrf.holidays import HolidayFileError, UnsupportedYearError, un_hq_holidays

    try:
        holidays = un_hq_holidays(int(year), holidays_dir=holidays_dir)
    except (HolidayFileError, UnsupportedYearError) as exc:
        fail(str(exc))

    if output is OutputFormat.JSON:
        rows = [{"date": h.date.isoformat(), "name": h.name} for h in holidays]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"UN Headquarters holidays {int(year)}",
        caption="Each holiday is listed in the year of the day HQ is closed.",
    )
    table.add_column("Date")
    table.add_column("Holiday")
    table.add_column("Falls on")
    table.add_column("Source")
    for h in holidays:
        table.add_row(
            f"{h.date:%a %d %b %Y}",
            h.name,
            f"{h.actual:%a %d %b %Y}" if h.actual else "",
            h.source,
        )
    Console().print(table)
