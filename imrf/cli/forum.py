"""`imrf registrations`, `imrf stakeholders`, `imrf delegations`: participation (OP6-8, fn. 4).

Heavy imports (SQLAlchemy, the registries) happen inside the commands. Bad input gets one
line and exit code 2; an import with refused rows exits 1 after storing the good ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imrf.cli.app import app, fail
from imrf.cli.contacts import OutputFormat, opened_store, report_import

if TYPE_CHECKING:
    from pydantic import BaseModel

    from imrf.contacts import SourceRow
    from imrf.store import Store

registrations_app = typer.Typer(
    help="Registration of ECOSOC-status NGOs and accredited stakeholders (OP6).",
    no_args_is_help=True)
stakeholders_app = typer.Typer(
    help="The President's list of other stakeholders, its objections and final list "
         "(OP7, footnote 4).", no_args_is_help=True)
delegations_app = typer.Typer(
    help="Members of Member States' delegations by category (OP8).", no_args_is_help=True)
app.add_typer(registrations_app, name="registrations")
app.add_typer(stakeholders_app, name="stakeholders")
app.add_typer(delegations_app, name="delegations")

Edition = Annotated[int, typer.Option(help="Forum edition (year), e.g. 2030.")]
Actor = Annotated[str, typer.Option(help="Who does this (recorded).")]
Format = Annotated[OutputFormat, typer.Option("--format", help="table or json.")]
CsvFile = Annotated[Path, typer.Argument(metavar="FILE.csv", help="UTF-8 CSV with a header.")]


@contextmanager
def refused() -> Iterator[None]:
    """A refusal by the registries (or a bad data file) as one line and exit code 2."""
    from imrf.configfile import ConfigError

    try:
        yield
    except (ValueError, ConfigError) as exc:
        fail(str(exc))


def _read(file: Path, module: Any) -> list[SourceRow]:
    from imrf.contacts import ContactFileError, read_csv

    try:
        return read_csv(file, required=module.REQUIRED_COLUMNS, optional=module.OPTIONAL_COLUMNS)
    except ContactFileError as exc:
        fail(str(exc))


def _import(file: Path, edition: int, output: OutputFormat, module: Any,
            registry: Callable[[Store], Any]) -> None:
    rows = _read(file, module)
    with opened_store() as store, refused():
        report = registry(store).import_rows(edition, rows)
    report_import(file, report, output)


def _dump(items: list[BaseModel] | BaseModel) -> None:
    data = ([i.model_dump(mode="json") for i in items] if isinstance(items, list)
            else items.model_dump(mode="json"))
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _table(headers: list[str], rows: list[list[Any]], caption: str = "") -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(caption=caption or f"{len(rows)} row(s)")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:  # Text: stored markup is shown as it is, never interpreted by rich
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    Console(highlight=False).print(table)


# --- registrations (OP6) -------------------------------------------------------------------


@registrations_app.command("import")
def registrations_import(file: CsvFile, edition: Edition,
                         output: Format = OutputFormat.TABLE) -> None:
    """Import registrants: email,name,organization,accreditation[,status]."""
    from imrf.forum import registrations

    _import(file, edition, output, registrations, registrations.RegistrationRegistry)


@registrations_app.command("add")
def registrations_add(
    edition: Edition, email: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
    organization: Annotated[str, typer.Option()],
    accreditation: Annotated[str, typer.Option(help="ecosoc, gcm-process or gcm-conference.")],
    status: Annotated[str, typer.Option(help="registered, pending or rejected.")] = "pending",
) -> None:
    """Register one stakeholder (or update them, by address)."""
    from imrf.forum.registrations import RegistrationRegistry

    with opened_store() as store, refused():
        RegistrationRegistry(store).register(edition, {
            "email": email, "name": name, "organization": organization,
            "accreditation": accreditation, "status": status})
    typer.echo(f"{email.strip().lower()}: {status} for {edition}")


@registrations_app.command("status")
def registrations_status(edition: Edition, email: Annotated[str, typer.Argument()],
                         status: Annotated[str, typer.Argument(
                             help="registered, pending or rejected.")]) -> None:
    """Change a registrant's status."""
    from imrf.forum.registrations import RegistrationRegistry

    with opened_store() as store, refused():
        RegistrationRegistry(store).set_status(edition, email, status)  # type: ignore[arg-type]
    typer.echo(f"{email.strip().lower()}: {status}")


@registrations_app.command("list")
def registrations_list(edition: Edition, status: Annotated[str | None, typer.Option()] = None,
                       output: Format = OutputFormat.TABLE) -> None:
    """The registrants of an edition, by address."""
    from imrf.forum.registrations import RegistrationRegistry

    with opened_store() as store:
        found = RegistrationRegistry(store).registrations(edition, status)  # type: ignore[arg-type]
    if output is OutputFormat.JSON:
        _dump(list(found))
    else:
        _table(["email", "name", "organization", "accreditation", "status"],
               [[r.email, r.name, r.organization, r.accreditation, r.status] for r in found])


# --- the PGA list (OP7, footnote 4) --------------------------------------------------------


@stakeholders_app.command("import")
def stakeholders_import(file: CsvFile, edition: Edition,
                        output: Format = OutputFormat.TABLE) -> None:
    """Import candidates: name,organization,organization_type,gender[,regional_group,country,
    email]."""
    from imrf.forum import stakeholders

    _import(file, edition, output, stakeholders, stakeholders.StakeholderList)


@stakeholders_app.command("add")
def stakeholders_add(
    edition: Edition, name: Annotated[str, typer.Option()],
    organization: Annotated[str, typer.Option()],
    organization_type: Annotated[str, typer.Option("--type", help="ngo, academia, "
                                                   "private-sector, trade-union, "
                                                   "migrant-organization, youth-organization, "
                                                   "diaspora.")],
    gender: Annotated[str, typer.Option(help="female, male or other.")],
    regional_group: Annotated[str | None, typer.Option("--region")] = None,
    country: Annotated[str | None, typer.Option(help="ISO alpha-3; gives the region.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add one candidate to the list (a duplicate is refused)."""
    from imrf.forum.stakeholders import StakeholderList

    with opened_store() as store, refused():
        candidate = StakeholderList(store).add(edition, {
            "name": name, "organization": organization, "organization_type": organization_type,
            "gender": gender, "regional_group": regional_group, "country": country,
            "email": email})
    typer.echo(f"#{candidate.id} {candidate.name} ({candidate.organization}) added to the "
               f"{edition} list")


@stakeholders_app.command("list")
def stakeholders_list(edition: Edition, final: Annotated[bool, typer.Option(
        help="The final list (without names objected to, unless overruled).")] = False,
        output: Format = OutputFormat.TABLE) -> None:
    """The proposed (or final) names."""
    from imrf.forum.objections import ObjectionRegistry

    with opened_store() as store:
        lists = ObjectionRegistry(store).final_list(edition)
    found = lists.final if final else lists.proposed
    if output is OutputFormat.JSON:
        _dump(list(found))
    else:
        _table(["#", "name", "organization", "type", "region", "gender"],
               [[c.id, c.name, c.organization, c.organization_type, c.regional_group.value,
                 c.gender] for c in found])


@stakeholders_app.command("balance")
def stakeholders_balance(edition: Edition, final: Annotated[bool, typer.Option(
        help="Balance of the final list instead of the proposed one.")] = False,
        output: Format = OutputFormat.TABLE) -> None:
    """Geographical and gender balance of the list, for the President's office (OP7)."""
    from imrf.forum.objections import ObjectionRegistry
    from imrf.forum.stakeholders_report import balance_of

    with opened_store() as store, refused():
        lists = ObjectionRegistry(store).final_list(edition)
        report = balance_of(edition, "final" if final else "proposed",
                            lists.final if final else lists.proposed)
    if output is OutputFormat.JSON:
        _dump(report)
        return
    for title, shares in (("regional group", report.by_regional_group),
                          ("gender", report.by_gender),
                          ("organization type", report.by_organization_type)):
        _table([title, "names", "share"], [[s.value, s.count, f"{s.share:.0%}"]
                                           for s in shares],
               caption=f"{report.which} list, {report.total} names ({report.paragraph})")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")


@stakeholders_app.command("circulate")
def stakeholders_circulate(
    edition: Edition, actor: Actor,
    on: Annotated[str, typer.Option(help="Date sent to Member States, YYYY-MM-DD.")],
    accept_late: Annotated[bool, typer.Option(help="Record a date after the deadline.")] = False,
) -> None:
    """Record that the list went to Member States (OP7: no later than three months before
    the forum; the forum's date comes from the calendar)."""
    from imrf.calendar import CalendarError, build_calendar
    from imrf.cli.calendar import parse_date
    from imrf.configfile import ConfigError
    from imrf.editions import EditionError
    from imrf.forum.stakeholders import StakeholderList
    from imrf.holidays import HolidayFileError

    day = parse_date(on, "--on")
    try:
        cal = build_calendar(edition)
    except (CalendarError, ConfigError, EditionError, HolidayFileError) as exc:
        fail(str(exc))
    with opened_store() as store, refused():
        record = StakeholderList(store).circulate(edition, on=day, calendar=cal, actor=actor,
                                                  accept_late=accept_late)
    late = " (LATE)" if record.late else ""
    typer.echo(f"{edition} list of {record.candidates} names circulated on "
               f"{record.circulated_on}{late}; deadline {record.deadline}")


@stakeholders_app.command("object")
def stakeholders_object(
    edition: Edition, actor: Actor,
    candidate: Annotated[str, typer.Option(help="#id, name, or 'name (organization)'.")],
    state: Annotated[str, typer.Option(help="The objecting Member State (ISO alpha-3).")],
    basis: Annotated[str, typer.Option(help="The general basis, if the State gave one.")] = "",
) -> None:
    """Record a Member State's objection to a name (confidential; footnote 4)."""
    from pydantic import ValidationError

    from imrf.forum.objections import ObjectionRegistry
    from imrf.human_steps import Objection

    try:
        objection = Objection(candidate=candidate, state=state.strip().upper(),
                              general_basis=basis)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        fail(f"--{error['loc'][0]}: {error['msg']}".replace("--general_basis", "--basis"))
    with opened_store() as store, refused():
        ObjectionRegistry(store).record(edition, [objection], source="cli", actor=actor)
    typer.echo(f"objection recorded for {edition} (confidential: see `imrf stakeholders "
               "objections`)")


@stakeholders_app.command("objections")
def stakeholders_objections(
    edition: Edition, actor: Actor,
    requested_by: Annotated[str, typer.Option(
        help="The Member State (ISO alpha-3) that asked, or pga-office.")],
    reason: Annotated[str, typer.Option(help="The request (e.g. its note verbale).")],
    output: Format = OutputFormat.TABLE,
) -> None:
    """Show the objections, CONFIDENTIAL: each call is recorded (who, for whom, when, why)."""
    from imrf.forum.objections import ObjectionRegistry

    with opened_store() as store, refused():
        found = ObjectionRegistry(store).disclose(edition, requested_by=requested_by,
                                                  actor=actor, reason=reason)
    if output is OutputFormat.JSON:
        _dump(list(found))
    else:
        _table(["#", "candidate", "organization", "State", "general basis", "source"],
               [[o.candidate_id, o.candidate, o.organization, o.state, o.general_basis,
                 o.source] for o in found],
               caption=f"{len(found)} objection(s); this disclosure was recorded")


@stakeholders_app.command("disclosures")
def stakeholders_disclosures(edition: Edition, output: Format = OutputFormat.TABLE) -> None:
    """The audit trail: every disclosure of objections."""
    from imrf.forum.objections import ObjectionRegistry

    with opened_store() as store:
        found = ObjectionRegistry(store).disclosures(edition)
    if output is OutputFormat.JSON:
        _dump(list(found))
    else:
        _table(["at (UTC)", "actor", "requested by", "objections", "reason"],
               [[d.at, d.actor, d.requested_by, d.objections, d.reason] for d in found])


@stakeholders_app.command("overrule")
def stakeholders_overrule(
    edition: Edition, actor: Actor,
    candidate: Annotated[str, typer.Option(help="#id, name, or 'name (organization)'.")],
    reason: Annotated[str, typer.Option(help="The President's reason.")],
) -> None:
    """Record the President's decision to keep a name despite objections."""
    from imrf.forum.objections import ObjectionRegistry

    with opened_store() as store, refused():
        kept = ObjectionRegistry(store).overrule(edition, candidate, reason=reason, actor=actor)
    typer.echo(f"#{kept.id} {kept.name}: kept on the final list by decision")


@stakeholders_app.command("report")
def stakeholders_report(
    edition: Edition,
    output: Annotated[str, typer.Option("--format", help="table, json or html.")] = "table",
    file: Annotated[Path | None, typer.Option("--output", help="Write to this file.")] = None,
) -> None:
    """Proposed and final names for the General Assembly (footnote 4); no objecting State."""
    from imrf.forum.stakeholders_report import general_assembly_report, render_html

    if output not in ("table", "json", "html"):
        fail(f"--format: {output!r} is not one of table, json, html")
    with opened_store() as store, refused():
        report = general_assembly_report(store, edition)
    if output == "json":
        text = report.model_dump_json(indent=2) + "\n"
    elif output == "html":
        text = render_html(report)
    else:
        lines = [f"IMRF {edition}: {len(report.proposed)} proposed, {len(report.final)} final, "
                 f"{len(report.not_retained)} not retained, {len(report.kept_by_decision)} "
                 "kept by decision"]
        lines += [f"  {'final' if c in report.final else 'not retained'}: #{c.id} {c.name} "
                  f"({c.organization})" for c in report.proposed]
        text = "\n".join(lines) + "\n"
    if file is None:
        typer.echo(text, nl=False)
    else:
        try:
            file.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"--output: cannot write {file}: {exc.strerror}")


# --- delegations (OP8) ---------------------------------------------------------------------


@delegations_app.command("import")
def delegations_import(file: CsvFile, edition: Edition,
                       output: Format = OutputFormat.TABLE) -> None:
    """Import delegation members: state,name,category[,function]."""
    from imrf.forum import delegations

    _import(file, edition, output, delegations, delegations.Delegations)


@delegations_app.command("add")
def delegations_add(
    edition: Edition, state: Annotated[str, typer.Option(help="Member State, ISO alpha-3.")],
    name: Annotated[str, typer.Option()],
    category: Annotated[str, typer.Option(help="government, parliamentarian, nhri, "
                                          "local-authority or other.")],
    function: Annotated[str, typer.Option(help="Title or function.")] = "",
) -> None:
    """Record one member of a Member State's delegation."""
    from imrf.forum.delegations import Delegations

    with opened_store() as store, refused():
        Delegations(store).add(edition, {"state": state, "name": name, "category": category,
                                         "function": function})
    typer.echo(f"{state.strip().upper()}: {name.strip()} ({category}) recorded for {edition}")


@delegations_app.command("count")
def delegations_count(edition: Edition, output: Format = OutputFormat.TABLE) -> None:
    """Members per Member State and category (OP8)."""
    from imrf.forum.delegations import Delegations

    with opened_store() as store, refused():
        counts = Delegations(store).counts(edition)
    if output is OutputFormat.JSON:
        _dump(list(counts))
        return
    categories = list(counts[0].by_category) if counts else []
    rows = [[c.state, c.state_name, *c.by_category.values(), c.total] for c in counts]
    totals = [sum(c.by_category[k] for c in counts) for k in categories]
    rows.append(["all", f"{len(counts)} States", *totals, sum(totals)])
    _table(["State", "name", *categories, "total"], rows)

