"""`imrf programme` and the forum's records: round tables, speakers, opening, declaration.

    imrf programme --edition 2026 --format html --output programme.html
    imrf roundtables co-chairs --edition 2026 co-chairs.yaml      (OP28, with the balance)
    imrf roundtables document --edition 2026 --document background-note --roundtable 1 ...
    imrf roundtables participant | chase | balance
    imrf speakers inscribe | import | list                        (OP23)
    imrf opening set | show                                       (OP22)
    imrf declaration co-facilitators | document | record | rounds | check   (OP36-OP41)

Heavy modules are imported inside the commands: `imrf calendar` must start fast.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from imrf.cli.app import app, fail
from imrf.cli.calendar import parse_date
from imrf.cli.contacts import opened_store

if TYPE_CHECKING:
    from pydantic import BaseModel

    from imrf.milestones import EditionCalendar
    from imrf.modalities import Modalities

    M = TypeVar("M", bound=BaseModel)

SOMETHING_MISSING = 1

roundtables_app = typer.Typer(help="Round tables: co-chairs (OP28), documents (OP29, OP31), "
                              "participants (OP30).", no_args_is_help=True)
speakers_app = typer.Typer(help="The general debate's list of speakers (OP23).",
                           no_args_is_help=True)
opening_app = typer.Typer(help="The opening session's speakers (OP22).", no_args_is_help=True)
declaration_app = typer.Typer(help="The Progress Declaration: co-facilitators, negotiation "
                              "rounds, dossier and check (OP36-OP41).", no_args_is_help=True)
app.add_typer(roundtables_app, name="roundtables")
app.add_typer(speakers_app, name="speakers")
app.add_typer(opening_app, name="opening")
app.add_typer(declaration_app, name="declaration")

Edition = Annotated[int, typer.Option(help="Forum edition (year), e.g. 2026.")]
AsOf = Annotated[str | None, typer.Option(help="The day to judge by, YYYY-MM-DD (default: "
                                          "today in New York).")]


class ProgrammeFormat(enum.StrEnum):
    HTML = "html"
    JSON = "json"


class ListFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


Format = Annotated[ListFormat, typer.Option("--format", help="table or json.")]


def _as_of(value: str | None) -> dt.date:
    if value is not None:
        return parse_date(value, "--as-of")
    import pendulum

    today = pendulum.today("America/New_York")
    return dt.date(today.year, today.month, today.day)


def _edition(edition: int) -> tuple[EditionCalendar, Modalities]:
    """The edition's calendar and the modalities it was computed with (one-line errors)."""
    from imrf.calendar import CalendarError, build_calendar
    from imrf.configfile import ConfigError
    from imrf.editions import EditionError
    from imrf.holidays import HolidayFileError
    from imrf.modalities import load_modalities

    try:
        calendar = build_calendar(edition)
        return calendar, load_modalities(calendar.modalities)
    except (CalendarError, ConfigError, EditionError, HolidayFileError) as exc:
        fail(str(exc))


@contextmanager
def _refusals() -> Iterator[None]:
    """A refused record (ForumError) is the operator's to fix: one line, exit 2."""
    from imrf.forum.rows import ForumError

    try:
        yield
    except ForumError as exc:
        fail(str(exc))


def _answer_file(model: type[M], path: Path) -> M:
    from imrf.configfile import ConfigError, load_yaml, validate_file_data

    try:
        return validate_file_data(model, load_yaml(path), path)
    except ConfigError as exc:
        fail(str(exc))


def _model(model: type[M], where: str, **values: Any) -> M:
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        fail(f"{where}: --{str(err['loc'][0]).replace('_', '-')}: {err['msg']}")


def _emit(text: str, output: Path | None = None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--output: cannot write {output}: {exc.strerror}")


# --- the programme -----------------------------------------------------------------------------


@app.command()
def programme(
    edition: Edition,
    format: Annotated[ProgrammeFormat, typer.Option(
        "--format", help="html (printable) or json.")] = ProgrammeFormat.HTML,
    output: Annotated[Path | None, typer.Option(help="Write to this file, not stdout.")] = None,
    as_of: AsOf = None,
) -> None:
    """The forum's programme: days and sessions, the opening, the round tables with their
    co-chairs and objectives, the speakers list with estimated times (OP20-OP35)."""
    from imrf.forum import programme as forum_programme
    from imrf.reference import objectives, states

    calendar, modalities = _edition(edition)
    day = _as_of(as_of)
    with opened_store() as store, _refusals():
        records = forum_programme.load(store, edition)
        built = forum_programme.build(calendar, modalities, records, states=states(),
                                      objectives=objectives(), as_of=day)
    for warning in built.warnings:
        typer.echo(f"imrf: warning: {warning}", err=True)
    if format is ProgrammeFormat.JSON:
        _emit(forum_programme.to_json(built), output)
    else:
        _emit(forum_programme.to_html(built), output)


# --- round tables ------------------------------------------------------------------------------


@roundtables_app.command("co-chairs")
def co_chairs_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.yaml", help="The co-chairs of every "
                                         "round table, as the human step's form: roundtables: "
                                         "[{roundtable, co_chairs: [{state, representative, "
                                         "gender}, ...]}].")],
    edition: Edition,
) -> None:
    """Appoint the co-chairs (OP28); refused, with every problem, unless balanced."""
    from imrf.forum.cochairs import appoint_co_chairs
    from imrf.human_steps import CoChairs
    from imrf.reference import states

    answer = _answer_file(CoChairs, file)
    _, modalities = _edition(edition)
    with opened_store() as store, _refusals():
        report = appoint_co_chairs(store, edition, answer, modalities, states())
    typer.echo(_balance_text(report))


@roundtables_app.command("balance")
def balance_command(edition: Edition, format: Format = ListFormat.TABLE) -> None:
    """The balance report of the appointed co-chairs: regional groups and gender (OP28)."""
    from imrf.forum.cochairs import balance_report, co_chairs
    from imrf.reference import states

    _, modalities = _edition(edition)
    with opened_store() as store:
        appointed = co_chairs(store, edition)
    if appointed is None:
        fail(f"no co-chairs are appointed for {edition} (imrf roundtables co-chairs FILE)")
    report = balance_report(appointed, modalities, states())
    _emit(report.model_dump_json(indent=2) if format is ListFormat.JSON
          else _balance_text(report))


def _balance_text(report: Any) -> str:
    lines = [f"Co-chairs ({report.paragraph})"]
    for pair in report.pairs:
        people = "; ".join(f"{p.representative} ({name}, {group}, {p.gender})" for p, name, group
                           in zip(pair.co_chairs, pair.state_names, pair.groups, strict=True))
        lines.append(f"  round table {pair.roundtable}: {people}")
    lines.append("  by regional group: " + ", ".join(f"{g} {n}" for g, n in
                                                      report.by_group.items()))
    lines.append("  by gender: " + ", ".join(f"{g} {n}" for g, n in report.by_gender.items()))
    lines += [f"  problem: {p}" for p in report.problems] or ["  balanced"]
    return "\n".join(lines)


def _record_document(edition: int, document: str, roundtable: int, link: str,
                     received_on: str, symbol: str | None) -> None:
    from imrf.forum import documents

    _, modalities = _edition(edition)
    item = _model(documents.Received, "document", document=document, roundtable=roundtable,
                  link=link, received_on=parse_date(received_on, "--received-on"),
                  symbol=symbol)
    with opened_store() as store, _refusals():
        documents.record(store, edition, item, modalities)
    where = f" of round table {roundtable}" if roundtable else ""
    typer.echo(f"recorded {document}{where} for {edition}, received {received_on}")


Document = Annotated[str, typer.Option(help="background-note, technical-summary, sg-report, "
                                       "policy-debate-summary or plenary-summaries (see "
                                       "forum_documents in the modalities).")]
Link = Annotated[str, typer.Option(help="Where to read it (http or https).")]
ReceivedOn = Annotated[str, typer.Option(help="When it was received, YYYY-MM-DD.")]
Symbol = Annotated[str | None, typer.Option(help="UN document symbol, if any.")]


@roundtables_app.command("document")
def roundtable_document(edition: Edition, document: Document,
                        roundtable: Annotated[int, typer.Option(help="1 to 4.")],
                        link: Link, received_on: ReceivedOn, symbol: Symbol = None) -> None:
    """Record a round table's background note (OP29) or technical summary (OP31)."""
    _record_document(edition, document, roundtable, link, received_on, symbol)


@roundtables_app.command("participant")
def participant_command(
    edition: Edition,
    roundtable: Annotated[int, typer.Option(help="1 to 4.")],
    kind: Annotated[str, typer.Option(help="non-governmental or regional-process.")],
    name: Annotated[str, typer.Option(help="The participant's name.")],
    organisation: Annotated[str, typer.Option(help="Organisation, process or platform.")] = "",
) -> None:
    """Record a non-governmental or regional participant of a round table (OP30)."""
    from imrf.forum.roundtables import Participant, add_participant

    _, modalities = _edition(edition)
    person = _model(Participant, "participant", roundtable=roundtable, kind=kind, name=name,
                    organisation=organisation)
    with opened_store() as store, _refusals():
        add_participant(store, edition, person, modalities)
    typer.echo(f"recorded {name!r} in round table {roundtable} for {edition}")


@roundtables_app.command("chase")
def chase_command(edition: Edition, as_of: AsOf = None, format: Format = ListFormat.TABLE
                  ) -> None:
    """What is overdue or still missing on a day: background notes, technical summaries and
    the other documents the forum and the declaration need (exit 1 if anything is)."""
    from imrf.forum import documents

    calendar, modalities = _edition(edition)
    day = _as_of(as_of)
    with opened_store() as store:
        missing = documents.outstanding(documents.statuses(
            calendar, modalities, documents.received(store, edition), day))
    if format is ListFormat.JSON:
        _emit(json.dumps([m.model_dump(mode="json") for m in missing], indent=2))
    else:
        lines = documents.chase_lines(missing, day)
        _emit("\n".join(lines) if lines else f"nothing outstanding on {day}")
    if missing:
        raise typer.Exit(SOMETHING_MISSING)


# --- speakers (OP23) and the opening session (OP22) --------------------------------------------


@speakers_app.command("inscribe")
def inscribe_command(
    edition: Edition,
    state: Annotated[str, typer.Option(help="ISO 3166 alpha-3 code of the State.")],
    level: Annotated[str, typer.Option(help="Level of representation, e.g. head-of-state, "
                                       "minister, head-of-delegation.")],
    speaker: Annotated[str, typer.Option(help="Name and title of the speaker.")],
) -> None:
    """Inscribe a Member or observer State on the general debate's list (OP23)."""
    from imrf.forum.speakers import Inscription, inscribe
    from imrf.reference import states

    _, modalities = _edition(edition)
    item = _model(Inscription, "inscription", state=state.strip().upper(), level=level,
                  speaker=speaker)
    with opened_store() as store, _refusals():
        inscribe(store, edition, item, modalities, states())
    typer.echo(f"inscribed {item.state} ({level}) for {edition}")


@speakers_app.command("import")
def import_speakers(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="Columns state, level, "
                                         "speaker; rows in order of inscription.")],
    edition: Edition,
) -> None:
    """Inscribe a batch of States in file order: all of them, or none if any is refused."""
    from imrf.forum.speakers import inscribe_many, read_csv
    from imrf.reference import states

    _, modalities = _edition(edition)
    with _refusals():
        items = read_csv(file)
    with opened_store() as store, _refusals():
        inscribe_many(store, edition, items, modalities, states())
    typer.echo(f"inscribed {len(items)} States for {edition}")


@speakers_app.command("list")
def list_speakers(edition: Edition, format: Format = ListFormat.TABLE) -> None:
    """The list in order with estimated times; a warning and the overflow when it does not fit
    the general debate's time (exit 1)."""
    from imrf.forum import speakers
    from imrf.reference import states

    calendar, modalities = _edition(edition)
    with opened_store() as store, _refusals():
        built = speakers.build(speakers.inscriptions(store, edition), calendar, modalities,
                               states())
    if format is ListFormat.JSON:
        _emit(built.model_dump_json(indent=2))
    else:
        lines = [f"{s.position:>4}  day {s.day} {s.start:%H:%M}  {s.state_name} "
                 f"({s.level_title}): {s.speaker}" for s in built.scheduled if s.start]
        lines += [f"{s.position:>4}  OVERFLOW   {s.state_name} ({s.level_title}): {s.speaker}"
                  for s in built.overflow]
        lines.append(f"{len(built.scheduled)} of {built.capacity} statements of "
                     f"{built.minutes_per_statement} minutes used")
        _emit("\n".join(lines))
    if built.warning:
        typer.echo(f"imrf: warning: {built.warning}", err=True)
        raise typer.Exit(SOMETHING_MISSING)


@opening_app.command("set")
def opening_set(
    edition: Edition,
    role: Annotated[str, typer.Option(help="president-of-the-general-assembly, "
                                      "secretary-general, iom-director-general, "
                                      "migrant-community or civil-society.")],
    name: Annotated[str, typer.Option(help="The speaker's name.")],
) -> None:
    """Name the person who speaks for a role at the opening session (OP22)."""
    from imrf.forum.opening import name_speaker

    _, modalities = _edition(edition)
    with opened_store() as store, _refusals():
        name_speaker(store, edition, role, name, modalities)
    typer.echo(f"{role}: {name}")


@opening_app.command("show")
def opening_show(edition: Edition) -> None:
    """The opening session's speakers in order (OP22)."""
    from imrf.forum import opening

    _, modalities = _edition(edition)
    with opened_store() as store, _refusals():
        slots = opening.programme(modalities, opening.names(store, edition))
    _emit("\n".join(f"{s.order}. {s.title}: {s.name or 'to be confirmed'}" for s in slots))


# --- the Progress Declaration (OP36-OP41) ------------------------------------------------------


@declaration_app.command("co-facilitators")
def co_facilitators_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.yaml", help="co_facilitators: [{state, "
                                         "representative, gender}, ...] (two).")],
    edition: Edition,
) -> None:
    """Appoint the two co-facilitators of the negotiations (OP36)."""
    from imrf.forum.cochairs import appoint_co_facilitators
    from imrf.human_steps import CoFacilitators
    from imrf.reference import states

    answer = _answer_file(CoFacilitators, file)
    _, modalities = _edition(edition)
    with opened_store() as store, _refusals():
        appoint_co_facilitators(store, edition, answer, modalities, states())
    typer.echo("appointed: " + "; ".join(f"{p.representative} ({p.state})"
                                         for p in answer.co_facilitators))


@declaration_app.command("document")
def declaration_document(edition: Edition, document: Document, link: Link,
                         received_on: ReceivedOn, symbol: Symbol = None) -> None:
    """Record a document of the dossier: the SG report, the policy debate summary, the
    plenary summaries (OP39, OP41)."""
    _record_document(edition, document, 0, link, received_on, symbol)


@declaration_app.command("record")
def record_declaration(
    file: Annotated[Path, typer.Argument(metavar="FILE.yaml", help="As the human step's form: "
                                         "agreed_on, symbol, link and the six OP40/OP41 "
                                         "booleans.")],
    edition: Edition,
) -> None:
    """Record the Progress Declaration as agreed; prints what it lacks (OP40, OP41)."""
    from imrf.forum import declaration
    from imrf.human_steps import DeclarationAgreed

    answer = _answer_file(DeclarationAgreed, file)
    _, modalities = _edition(edition)
    with opened_store() as store:
        declaration.record(store, edition, answer)
    lacks = declaration.missing(answer, modalities)
    typer.echo("\n".join([f"recorded {answer.symbol} for {edition}", *lacks]))


@declaration_app.command("rounds")
def rounds_command(edition: Edition, as_of: AsOf = None, format: Format = ListFormat.TABLE
                   ) -> None:
    """The negotiation rounds from the day after the forum to the deadline (OP36-OP37)."""
    from imrf.forum import declaration, negotiations

    calendar, modalities = _edition(edition)
    day = _as_of(as_of)
    with _refusals():
        plan = negotiations.plan(calendar, modalities)
    with opened_store() as store:
        agreed = declaration.recorded(store, edition) is not None
    state = negotiations.status(plan, modalities, day, agreed=agreed)
    if format is ListFormat.JSON:
        _emit(json.dumps({"plan": plan.model_dump(mode="json"),
                          "status": state.model_dump(mode="json")}, indent=2))
    else:
        _emit("\n".join([f"negotiations {plan.start} to {plan.deadline} ({plan.paragraph})",
                         *(f"  round {n}: {d:%A %d %B %Y}"
                           for n, d in enumerate(plan.rounds, start=1)),
                         f"on {day}: {state.phase}: {state.message}"]))
    if state.escalate:
        typer.echo(f"imrf: escalate: {state.message}", err=True)


@declaration_app.command("check")
def check_command(edition: Edition, as_of: AsOf = None, format: Format = ListFormat.TABLE
                  ) -> None:
    """The dossier (OP39) and the declaration's check (OP40, OP41): what is in, with links,
    and what is missing (exit 1 if anything is)."""
    from imrf.forum import dossier

    calendar, modalities = _edition(edition)
    day = _as_of(as_of)
    with opened_store() as store, _refusals():
        built = dossier.build(store, calendar, modalities, day)
    if format is ListFormat.JSON:
        _emit(built.model_dump_json(indent=2))
    else:
        inputs = "unknown (no inputs registry)" if built.inputs_accepted is None else str(
            built.inputs_accepted)
        lines = [f"Progress Declaration {edition}, as of {day}", f"  inputs accepted: {inputs}"]
        for title, items in (("basis (OP39)", built.basis), ("annexes (OP41)", built.annexes)):
            lines.append(f"  {title}:")
            lines += [f"    {d.label}: " + (f"{d.received.link}" if d.received
                                            else f"{d.state}, due {d.due}") for d in items]
        lines.append(f"  negotiations: {built.negotiation_status.message}")
        lines += [f"  missing: {m}" for m in built.missing] or ["  nothing missing"]
        _emit("\n".join(lines))
    if built.missing:
        raise typer.Exit(SOMETHING_MISSING)
