"""`imrf inputs`: register inputs to a forum, review held ones, see who has submitted (OP13)."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imrf.cli.app import app, fail

if TYPE_CHECKING:
    from imrf.bootstrap import App
    from imrf.inputs.models import Submission
    from imrf.inputs.registry import InputRecord, InputRegistry
    from imrf.inputs.tracker import Tracker

inputs_app = typer.Typer(
    help="Inputs to each forum (OP13-14): register, review held ones, track who is missing.",
    no_args_is_help=True)
app.add_typer(inputs_app, name="inputs")


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


class LevelOption(enum.StrEnum):
    NATIONAL = "national"
    REGIONAL = "regional"
    GLOBAL = "global"
    STAKEHOLDER = "stakeholder"


class StatusOption(enum.StrEnum):
    HELD = "held"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CommissionOption(enum.StrEnum):
    ECA = "eca"
    ECE = "ece"
    ECLAC = "eclac"
    ESCAP = "escap"
    ESCWA = "escwa"


Edition = Annotated[int, typer.Option("--edition", help="The forum's year, e.g. 2030.")]
Format = Annotated[OutputFormat, typer.Option("--format", help="table for people, json for "
                                              "scripts.")]


@contextmanager
def opened() -> Iterator[tuple[App, InputRegistry]]:
    """The application and the registry, closed afterwards; one-line errors (exit 2)."""
    from imrf.bootstrap import build_app
    from imrf.configfile import ConfigError
    from imrf.inputs.registry import InputRegistry
    from imrf.settings import SettingsError, load_settings
    from imrf.store import StoreError

    try:
        application = build_app(load_settings())
        registry = InputRegistry(application.store, data_dir=application.settings.data_dir,
                                 config_dir=_config_dir(application))
        registry.config  # noqa: B018 - a broken config/inputs.yaml fails here, in one line
    except (SettingsError, StoreError, ConfigError) as exc:
        fail(str(exc))
    try:
        yield application, registry
    finally:
        application.store.dispose()


def _config_dir(application: App) -> Path | None:
    config_dir = application.settings.config_dir
    return config_dir if config_dir.exists() else None


@inputs_app.command("add")
def add_command(
    edition: Edition,
    submitter: Annotated[str, typer.Option("--submitter", help="The submitter's e-mail.")],
    level: Annotated[LevelOption, typer.Option("--level", help="Where the input comes from.")],
    objective: Annotated[list[int], typer.Option(
        "--objective", help="A GCM objective it addresses, 1-23 (repeat for several).")],
    title: Annotated[str, typer.Option("--title")],
    language: Annotated[str, typer.Option("--language", help="e.g. en, fr, es, pt-BR.")],
    file: Annotated[Path | None, typer.Option("--file", help="The document (PDF, DOCX, ODT, "
                                              "HTML or TXT).")] = None,
    link: Annotated[str | None, typer.Option("--link", help="Or an http(s) link to it.")] = None,
    state: Annotated[str | None, typer.Option(
        "--state", help="National inputs: the Member State (ISO alpha-3).")] = None,
    commission: Annotated[CommissionOption | None, typer.Option(
        "--commission", help="Regional inputs: the commission.")] = None,
    submitter_name: Annotated[str | None, typer.Option("--submitter-name")] = None,
    organization: Annotated[str | None, typer.Option("--organization")] = None,
    received_on: Annotated[str | None, typer.Option(
        "--received-on", help="YYYY-MM-DD (default: today in New York).")] = None,
    output: Format = OutputFormat.TABLE,
) -> None:
    """Register one input. From a known contact it is accepted (and acknowledged by e-mail,
    once); from anyone else it is held until an operator accepts or rejects it."""
    from pydantic import ValidationError

    from imrf.inputs.intake import NewInput
    from imrf.inputs.validation import InputRefused

    if (file is None) == (link is None):
        fail("give either --file PATH or --link URL")
    data: dict[str, Any] = {
        "edition": edition, "level": level.value, "submitter": submitter,
        "objectives": objective, "title": title, "language": language, "link": link,
        "state": state, "commission": commission.value if commission else None,
        "submitter_name": submitter_name, "organization": organization,
        "received_on": received_on}
    try:
        meta = NewInput.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "input"
        option = {"objectives": "objective", "link": "link"}.get(field, field)
        message = str(error["msg"]).removeprefix("Value error, ")
        fail(f"--{option.replace('_', '-')}: {message}")
    with opened() as (application, registry):
        try:
            submission = (registry.add_file(meta, file) if file is not None
                          else registry.add(meta))
        except InputRefused as exc:
            fail(str(exc))
        record = registry.record(submission.id)
        ack = _acknowledge(application, submission)
    _print_outcome(record, ack, output)


@inputs_app.command("accept")
def accept_command(
    input_id: Annotated[str, typer.Argument(metavar="ID")],
    by: Annotated[str, typer.Option("--by", help="Who decides (kept with the input).")]
    = "operator",
    output: Format = OutputFormat.TABLE,
) -> None:
    """Accept a held input: it is published and its submitter acknowledged (once)."""
    _decide(input_id, None, by, output)


@inputs_app.command("reject")
def reject_command(
    input_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the input.")],
    by: Annotated[str, typer.Option("--by", help="Who decides.")] = "operator",
    output: Format = OutputFormat.TABLE,
) -> None:
    """Reject a held (or withdraw an accepted) input: it is not published. The document
    stays stored."""
    _decide(input_id, reason, by, output)


@inputs_app.command("list")
def list_command(
    edition: Edition,
    status: Annotated[StatusOption | None, typer.Option("--status")] = None,
    output: Format = OutputFormat.TABLE,
) -> None:
    """The edition's inputs, oldest first."""
    from imrf.inputs.models import Status

    with opened() as (_, registry):
        records = registry.records(edition, Status(status.value) if status else None)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([_as_json(r) for r in records], indent=2, ensure_ascii=False))
        return
    _print_records(edition, records)


@inputs_app.command("status")
def status_command(edition: Edition, output: Format = OutputFormat.TABLE) -> None:
    """Who has submitted and who has not: Member States by regional group, commissions,
    inputs by level (accepted and held inputs count as submitted)."""
    with opened() as (_, registry):
        tracker = registry.tracker(edition)
    if output is OutputFormat.JSON:
        typer.echo(tracker.model_dump_json(indent=2))
        return
    _print_tracker(tracker)


# --- helpers ----------------------------------------------------------------------------------


def _decide(input_id: str, rejection: str | None, by: str, output: OutputFormat) -> None:
    """Accept (``rejection`` None, then acknowledge) or reject an input, and say so."""
    from imrf.inputs.registry import InputStateError, UnknownInput

    with opened() as (application, registry):
        try:
            submission = (registry.accept(input_id, actor=by) if rejection is None
                          else registry.reject(input_id, rejection, actor=by))
        except (UnknownInput, InputStateError) as exc:
            fail(str(exc))
        record = registry.record(submission.id)
        ack = _acknowledge(application, submission)
    _print_outcome(record, ack, output)


def _acknowledge(application: App, submission: Submission) -> dict[str, Any] | None:
    """Acknowledge an accepted input; a delivery problem is reported, not fatal (the input is
    registered; the ledger keeps the message for a retry)."""
    from imrf.calendar import build_calendar
    from imrf.delivery.base import DeliveryError
    from imrf.inputs.acknowledge import acknowledge
    from imrf.inputs.models import Status

    if submission.status is not Status.ACCEPTED:
        return None
    calendar = build_calendar(submission.edition, config_dir=_config_dir(application))
    try:
        summary = acknowledge(application.notifier, calendar, submission)
    except DeliveryError as exc:
        return {"sent": 0, "error": str(exc)}
    return summary.model_dump(mode="json", include={"milestone", "sent", "already_sent",
                                                    "failed", "unknown", "errors"})


def _as_json(record: InputRecord) -> dict[str, Any]:
    return {**record.submission.model_dump(mode="json"), "reason": record.reason,
            "decided_by": record.decided_by}


def _print_outcome(record: InputRecord, ack: dict[str, Any] | None,
                   output: OutputFormat) -> None:
    s = record.submission
    if output is OutputFormat.JSON:
        typer.echo(json.dumps({**_as_json(record), "acknowledgement": ack}, indent=2,
                              ensure_ascii=False))
        return
    typer.echo(f"{s.id}: {s.status}" + (f" ({record.reason})" if record.reason else ""))
    if ack is not None:
        if ack.get("error"):
            typer.echo(f"acknowledgement to {s.submitter_email} not sent: {ack['error']} "
                       f"(run `imrf inputs accept {s.id}` again to retry)")
        elif ack.get("sent"):
            typer.echo(f"acknowledgement sent to {s.submitter_email}")
        elif ack.get("already_sent"):
            typer.echo(f"acknowledgement already sent to {s.submitter_email}")
        else:
            typer.echo(f"acknowledgement to {s.submitter_email} not sent: "
                       + ("; ".join(ack.get("errors") or []) or "see `imrf ledger`"))


def _print_records(edition: int, records: list[InputRecord]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(caption=f"{len(records)} input(s) to the {edition} edition")
    for header in ("id", "status", "level", "from", "title", "objectives", "document",
                   "reason"):
        table.add_column(header, overflow="fold")
    for r in records:
        s = r.submission
        origin = s.state or (s.commission.value if s.commission else s.organization)
        table.add_row(*(Text(v) for v in (
            s.id, s.status.value, s.level.value, origin, s.title,
            ",".join(map(str, s.objectives)), s.document.filename or s.document.link or "",
            r.reason or "")))
    Console(highlight=False).print(table)


def _print_tracker(t: Tracker) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    typer.echo(f"IMRF {t.edition} inputs: Member States {t.member_states.submitted} submitted,"
               f" {t.member_states.missing} missing; commissions {t.commissions.submitted} "
               f"submitted, {t.commissions.missing} missing")
    levels = Table("level", "accepted", "held", "rejected", title="By level")
    for level, c in t.by_level.items():
        levels.add_row(level.value, str(c.accepted), str(c.held), str(c.rejected))
    console.print(levels)
    groups = Table("regional group", "members", "submitted", "missing",
                   title="Member States by regional group")
    for group, g in t.by_regional_group.items():
        groups.add_row(group.value, str(g.members), str(g.submitted), str(g.missing))
    console.print(groups)
    missing = [f"{m.name} ({m.code})" for m in t.missing]
    if missing:
        typer.echo(f"Not yet submitted ({len(missing)}): {', '.join(missing)}")

