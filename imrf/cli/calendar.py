"""`imrf calendar`: the calendar of one forum edition as a table, JSON or iCalendar."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imrf.cli.app import app, fail

if TYPE_CHECKING:
    from imrf.milestones import EditionCalendar


class CalendarFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    ICS = "ics"


def parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date in the form YYYY-MM-DD")


@app.command()
def calendar(
    edition: Annotated[int | None, typer.Option(help="Forum edition (year), e.g. 2026.")] = None,
    forum_start: Annotated[str | None, typer.Option(
        help="First day of the forum, YYYY-MM-DD (overrides config/editions.yaml).")] = None,
    modalities: Annotated[str | None, typer.Option(
        help="zero-draft-2019, a-res-73-326 or a path to a modalities YAML file.")] = None,
    format: Annotated[CalendarFormat, typer.Option(
        "--format", help="table, json or ics.")] = CalendarFormat.TABLE,
    output: Annotated[Path | None, typer.Option(help="Write to this file, not stdout.")] = None,
) -> None:
    """Print every milestone of an edition with its dates and the paragraph it comes from."""
    from imrf.calendar import CalendarError, build_calendar
    from imrf.configfile import ConfigError
    from imrf.editions import EditionError
    from imrf.holidays import HolidayFileError

    if edition is None and forum_start is None:
        fail("give --edition YEAR or --forum-start YYYY-MM-DD")
    start = parse_date(forum_start, "--forum-start") if forum_start else None
    try:
        cal = build_calendar(edition, modalities=modalities, forum_start=start)
    except (CalendarError, ConfigError, EditionError, HolidayFileError) as exc:
        fail(str(exc))

    if format is CalendarFormat.JSON:
        from imrf.calendar_export import calendar_to_dict

        data: bytes = (json.dumps(calendar_to_dict(cal), indent=2, ensure_ascii=False)
                       + "\n").encode()
    elif format is CalendarFormat.ICS:
        from imrf.ics import calendar_to_ics

        data = calendar_to_ics(cal)
    else:
        data = _table(cal).encode()
    if output is None:
        typer.echo(data.decode(), nl=False)
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            fail(f"--output: cannot write {output}: {exc.strerror}")


def _table(cal: EditionCalendar) -> str:
    import io

    from rich.console import Console
    from rich.table import Table

    from imrf.calendar_export import when

    table = Table(
        title=f"IMRF {cal.edition} — forum {cal.forum_start:%d %B %Y} to "
              f"{cal.forum_end:%d %B %Y} (modalities: {cal.modalities}; times New York)",
        title_justify="left",
    )
    for column in ("when", "milestone", "kind", "paragraph", "basis"):
        table.add_column(column, overflow="fold")
    for m in cal.milestones:
        basis = "text" if m.basis == "text" else "default"
        table.add_row(when(m), f"{m.title}\n[dim]{m.id}[/dim]", m.kind.value, m.paragraph, basis)
    buffer = io.StringIO()
    Console(file=buffer, width=140, force_terminal=False).print(table)
    return buffer.getvalue()
