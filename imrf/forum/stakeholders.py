"""The President's list of other stakeholders (OP7, footnote 4).

Candidates (name, organization, organization type, regional group, gender) are imported
from CSV (columns ``name,organization,organization_type,gender`` and optionally
``regional_group,country,email``; the group may come from the country) or added one by one.
A candidate is identified by name and organization, ignoring case and spacing: a second
entry is refused as a duplicate (a re-import updates the first). The list goes to Member
States no later than three months before the forum (:func:`circulation_deadline`); once it
has gone, no name can be added. The final list is the proposed one minus the names objected
to, unless the President overruled the objection (:mod:`imrf.forum.objections`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pendulum
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.engine import Connection

from imrf.contacts import ImportReport, RowError, SourceRow
from imrf.forum.participation import (
    ParticipationError,
    email,
    identity,
    load_rules,
    one_of,
    text,
)
from imrf.forum.registrations_io import Problems, check_values, parse_rows, upsert
from imrf.milestones import EditionCalendar
from imrf.reference import State, states
from imrf.store import Store
from imrf.store.tables_participation import stakeholder_candidates as table
from imrf.store.tables_participation import stakeholder_circulations as circulations
from imrf.vocabulary import RegionalGroup

REQUIRED_COLUMNS = ("name", "organization", "organization_type", "gender")
OPTIONAL_COLUMNS = ("regional_group", "country", "email")
_GROUPS = tuple(group.value for group in RegionalGroup)
_FIELDS = ("name", "organization", "organization_type", "regional_group", "country", "gender",
           "email")


class Candidate(BaseModel):
    """A name proposed for the President's list (OP7)."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    organization: str
    organization_type: str
    regional_group: RegionalGroup
    country: str | None = None
    gender: str
    email: str | None = None


class Circulation(BaseModel):
    """When the list went to Member States, against the deadline (OP7)."""

    model_config = ConfigDict(frozen=True)

    edition: int
    circulated_on: dt.date
    deadline: dt.date
    late: bool
    candidates: int
    actor: str


def circulation_deadline(calendar: EditionCalendar) -> dt.date:
    """The last day to circulate the list: ``months_before_forum`` before it opens (OP7)."""
    months = load_rules().stakeholder_list.circulation.months_before_forum
    start = calendar.forum_start
    last = pendulum.date(start.year, start.month, start.day).subtract(months=months)
    return dt.date(last.year, last.month, last.day)


def check_candidate(values: Mapping[str, str | None],
                    known: Mapping[str, State] | None = None) -> tuple[dict[str, Any], Problems]:
    """One candidate's values checked against ``config/participation.yaml`` and the States."""
    rules = load_rules().stakeholder_list
    types = tuple(term.id for term in rules.organization_types)
    checked, problems = check_values(values, {
        "name": lambda v: text(v, limit=200),
        "organization": lambda v: text(v, limit=300),
        "organization_type": lambda v: one_of(v, types, "organization type"),
        "gender": lambda v: one_of(v, rules.genders, "gender"),
        "email": lambda v: email(v, required=False) or None,
        "country": lambda v: text(v, limit=3, required=False).upper() or None,
        "regional_group": lambda v: (one_of(v, _GROUPS, "regional group")
                                     if (v or "").strip() else None),
    })
    if any(field in ("country", "regional_group") for field, _ in problems):
        return checked, problems
    known = states() if known is None else known
    country, group = checked["country"], checked["regional_group"]
    if country is not None:
        state = known.get(country)
        if state is None:
            return checked, [*problems, ("country", f"{country!r} is not a known State code")]
        if group is None:
            group = state.regional_group
        elif state.regional_group is not None and group != state.regional_group:
            problems.append(("regional_group", f"{group} does not match {state.name} "
                             f"({state.regional_group})"))
    if group is None:
        problems.append(("regional_group", "required (or a country that has one)"))
    checked["regional_group"] = None if group is None else RegionalGroup(group).value
    return checked, problems


def _key(values: Mapping[str, Any]) -> str:
    return identity(values["name"], values["organization"])


class StakeholderList:
    """The PGA list of the store, one per edition; every method is one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def import_rows(self, edition: int, rows: Iterable[SourceRow]) -> ImportReport:
        """Validate ``rows``, upsert the good ones (by name and organization), report the rest.

        Once the list has been circulated, rows that would add a name are refused.
        """
        known = states()
        parsed = parse_rows(rows, lambda v: check_candidate(v, known), _key, "candidate")
        with self._store.unit_of_work() as uow:
            keyed, refused = _after_circulation(uow.connection, edition, parsed.rows)
            good = [row for i, row in enumerate(keyed) if i not in refused]
            counts = upsert(uow.connection, table, good, keys=("edition", "key"),
                            fields=_FIELDS)
            uow.commit()
        errors = parsed.errors + [RowError(line=parsed.lines[i], field="row", reason=reason)
                                  for i, reason in refused.items()]
        return ImportReport(imported=counts[0], updated=counts[1], unchanged=counts[2],
                            errors=sorted(errors, key=lambda e: e.line))

    def add(self, edition: int, values: Mapping[str, str | None]) -> Candidate:
        """One candidate (the CLI's single entry); a duplicate or a bad value is refused."""
        checked, problems = check_candidate(values)
        if problems:
            raise ParticipationError("; ".join(f"{f}: {r}" for f, r in problems))
        with self._store.unit_of_work() as uow:
            conn = uow.connection
            row = _rows(conn, edition, key=_key(checked))
            if row:
                raise ParticipationError(
                    f"duplicate candidate: {checked['name']} ({checked['organization']}) is "
                    f"already on the {edition} list as #{row[0].id}")
            keyed, refused = _after_circulation(conn, edition, [checked])
            if refused:
                raise ParticipationError(refused[0])
            upsert(conn, table, keyed, keys=("edition", "key"), fields=_FIELDS)
            candidate = _rows(conn, edition, key=_key(checked))[0]
            uow.commit()
        return candidate

    def candidates(self, edition: int) -> list[Candidate]:
        """The proposed names of ``edition``, in the order they were added."""
        with self._store.unit_of_work(read_only=True) as uow:
            return _rows(uow.connection, edition)

    def circulate(self, edition: int, *, on: dt.date, calendar: EditionCalendar, actor: str,
                  accept_late: bool = False) -> Circulation:
        """Record that the list went to Member States on ``on`` (OP7: no later than three
        months before the forum). A late date is refused unless ``accept_late``."""
        deadline = circulation_deadline(calendar)
        rule = load_rules().stakeholder_list.circulation
        late = on > deadline
        if late and not accept_late:
            raise ParticipationError(
                f"circulating the list on {on} is {(on - deadline).days} day(s) late: "
                f"{rule.paragraph} requires it no later than {deadline} "
                f"({rule.months_before_forum} months before the forum of "
                f"{calendar.forum_start}); pass --accept-late to record it anyway")
        with self._store.unit_of_work() as uow:
            conn = uow.connection
            if (found := _circulation(conn, edition)) is not None:
                raise ParticipationError(f"the {edition} list was already circulated on "
                                         f"{found.circulated_on}")
            count = len(_rows(conn, edition))
            if count == 0:
                raise ParticipationError(f"the {edition} list has no candidates to circulate")
            record = Circulation(edition=edition, circulated_on=on, deadline=deadline,
                                 late=late, candidates=count, actor=text(actor, limit=200))
            conn.execute(circulations.insert().values(
                **record.model_dump(), recorded_at=datetime.now(UTC)))
            uow.commit()
        return record

    def circulation(self, edition: int) -> Circulation | None:
        with self._store.unit_of_work(read_only=True) as uow:
            return _circulation(uow.connection, edition)


def _rows(conn: Connection, edition: int, *, key: str | None = None) -> list[Candidate]:
    query = select(table.c.id, *(table.c[f] for f in _FIELDS)).where(
        table.c.edition == edition).order_by(table.c.id)
    if key is not None:
        query = query.where(table.c.key == key)
    # Stored values were validated on the way in; only the enum is rebuilt (no revalidation).
    return [Candidate.model_construct(**(dict(row) | {"regional_group": RegionalGroup(
        row["regional_group"])})) for row in conn.execute(query).mappings()]


def _circulation(conn: Connection, edition: int) -> Circulation | None:
    row = conn.execute(select(*(circulations.c[f] for f in Circulation.model_fields))
                       .where(circulations.c.edition == edition)).mappings().first()
    return None if row is None else Circulation.model_validate(dict(row))


def _after_circulation(conn: Connection, edition: int, rows: list[dict[str, Any]]
                       ) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """``rows`` keyed for ``edition``, and after circulation why each new name is refused
    (by index in ``rows``)."""
    keyed = [r | {"edition": edition, "key": _key(r)} for r in rows]
    found = _circulation(conn, edition)
    if found is None:
        return keyed, {}
    existing = {c for (c,) in conn.execute(select(table.c.key).where(table.c.edition == edition))}
    return keyed, {i: f"{r['name']} ({r['organization']}): the list was circulated on "
                      f"{found.circulated_on}; no name can be added after it"
                   for i, r in enumerate(keyed) if r["key"] not in existing}
