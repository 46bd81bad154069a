"""`imrf contacts`: import the contact registry from CSV, list it."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imrf.cli.app import app, fail
from imrf.vocabulary import Audience

if TYPE_CHECKING:
    from imrf.contacts import ContactRow, ImportReport
    from imrf.store import Store

contacts_app = typer.Typer(
    help="The contact registry: who receives the cycle's messages.", no_args_is_help=True
)
app.add_typer(contacts_app, name="contacts")

# Past this many, the table points to --format json for the full list.
MAX_ERRORS_SHOWN = 200
SOME_ROWS_REJECTED = 1


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


@contextmanager
def opened_store() -> Iterator[Store]:
    """The configured store, closed afterwards; a one-line error (exit 2) if the settings or
    the database are bad."""
    from imrf.settings import SettingsError
    from imrf.store import StoreError, open_store

    try:
        store = open_store()
    except (SettingsError, StoreError) as exc:
        fail(str(exc))
    try:
        yield store
    finally:
        store.dispose()


@contacts_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="UTF-8 CSV with the columns "
                                         "email,name,organization,audiences[,country,"
                                         "regional_group,gender,language].")],
    output: Annotated[OutputFormat, typer.Option(
        "--format", help="table for people, json for scripts.")] = OutputFormat.TABLE,
) -> None:
    """Import (or update) contacts; bad rows are reported, the good ones still imported.

    Exit code 0: every row imported; 1: some rows rejected; 2: the file was refused.
    """
    from imrf.contacts import ContactFileError, ContactRegistry, read_csv

    try:
        rows = read_csv(file)
    except ContactFileError as exc:
        fail(str(exc))
    with opened_store() as store:
        report = ContactRegistry(store).import_rows(rows)
    report_import(file, report, output)


def report_import(file: Path, report: ImportReport, output: OutputFormat) -> None:
    """Show what a CSV import did (JSON for scripts, else a summary and the refused rows) and
    exit 1 if any row was refused: the contacts' and the stakeholder registries' imports."""
    if output is OutputFormat.JSON:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_import_report(file, report)
    if report.errors:
        raise typer.Exit(SOME_ROWS_REJECTED)


@contacts_app.command("list")
def list_command(
    audience: Annotated[list[Audience] | None, typer.Option(
        "--audience", help="Only contacts in this audience (repeat for several).")] = None,
    output: Annotated[OutputFormat, typer.Option(
        "--format", help="table for people, json for scripts.")] = OutputFormat.TABLE,
) -> None:
    """List the contacts, by e-mail address."""
    from imrf.contacts import ContactRegistry

    with opened_store() as store:
        registry = ContactRegistry(store)
        found = registry.contacts_for(audience) if audience else registry.all_contacts()
    if output is OutputFormat.JSON:
        import json

        typer.echo(json.dumps([c.model_dump(mode="json") for c in found], indent=2,
                              ensure_ascii=False))
    else:
        _print_contacts(found)


def print_import_report(file: Path, report: ImportReport) -> None:
    """The summary of a CSV import and a table of its refused rows (line, field, reason);
    the stakeholder registries' imports print theirs the same way."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    typer.echo(
        f"{file}: {report.imported} imported, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.rejected} row(s) rejected"
    )
    if not report.errors:
        return
    table = Table("line", "field", "reason")
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        table.add_row(str(error.line), Text(error.field), Text(error.reason))
    Console(highlight=False).print(table)
    if len(report.errors) > MAX_ERRORS_SHOWN:
        typer.echo(f"… and {len(report.errors) - MAX_ERRORS_SHOWN} more errors "
                   "(--format json lists them all)")


def _print_contacts(found: list[ContactRow]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(caption=f"{len(found)} contact(s)")
    # Wrapped, never cut short: a truncated address is a wrong address.
    table.add_column("email", overflow="fold")
    for header in ("name", "organization", "audiences", "country", "group", "language"):
        table.add_column(header, overflow="fold")
    for c in found:
        table.add_row(*(Text(value or "") for value in (
            c.email, c.name, c.organization, ";".join(c.audiences), c.country,
            c.regional_group, c.language)))
    Console(highlight=False).print(table)
