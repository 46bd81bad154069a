"""Member States' delegations to the forum (OP8): who is in them, by category, and counts.

OP8 encourages diverse delegations that "may include parliamentarians, representatives from
National Human Rights Institutions and sub-national, including local actors". A member is
recorded for a Member State (an observer or an unknown code is refused) with a category from
``config/participation.yaml`` (``delegations.categories``). CSV columns:
``state,name,category`` and optionally ``function``; a member is identified by State and
name (ignoring case and spacing), so a re-import updates the category.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from imrf.contacts import ImportReport, SourceRow
from imrf.forum.participation import (
    ParticipationError,
    identity,
    load_rules,
    member_state,
    one_of,
    text,
)
from imrf.forum.registrations_io import Problems, check_values, parse_rows, upsert
from imrf.reference import State, states
from imrf.store import Store
from imrf.store.tables_participation import delegation_members as table

REQUIRED_COLUMNS = ("state", "name", "category")
OPTIONAL_COLUMNS = ("function",)
_FIELDS = ("name", "category", "function")


class Member(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: str
    name: str
    category: str
    function: str = ""


class DelegationCount(BaseModel):
    """One Member State's delegation, counted by category (every category listed)."""

    state: str
    state_name: str
    by_category: dict[str, int]
    total: int


def check_member(values: Mapping[str, str | None],
                 known: dict[str, State] | None = None) -> tuple[dict[str, Any], Problems]:
    categories = tuple(term.id for term in load_rules().delegations.categories)
    known = states() if known is None else known

    def state(value: str | None) -> str:
        try:
            return member_state(value, known, "delegation").iso3
        except ParticipationError as exc:
            raise ValueError(str(exc).removeprefix("delegation: ")) from None

    return check_values(values, {
        "state": state,
        "name": lambda v: text(v, limit=200),
        "category": lambda v: one_of(v, categories, "category"),
        "function": lambda v: text(v, limit=200, required=False),
    })


def _key(values: Mapping[str, Any]) -> str:
    return values["state"] + "|" + identity(values["name"])[:190]


class Delegations:
    """The delegation members of the store; every method is one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def import_rows(self, edition: int, rows: Iterable[SourceRow]) -> ImportReport:
        known = states()
        parsed = parse_rows(rows, lambda v: check_member(v, known), _key, "member")
        return ImportReport(errors=parsed.errors, **self._write(edition, parsed.rows))

    def add(self, edition: int, values: Mapping[str, str | None]) -> ImportReport:
        checked, problems = check_member(values)
        if problems:
            raise ParticipationError("; ".join(f"{f}: {r}" for f, r in problems))
        return ImportReport(**self._write(edition, [checked]))

    def members(self, edition: int, state: str | None = None) -> list[Member]:
        query = select(table.c.state, *(table.c[f] for f in _FIELDS)).where(
            table.c.edition == edition).order_by(table.c.state, table.c.id)
        if state is not None:
            query = query.where(table.c.state == state.strip().upper())
        with self._store.unit_of_work(read_only=True) as uow:
            return [Member.model_validate(dict(r)) for r in uow.connection.execute(query)
                    .mappings()]

    def counts(self, edition: int) -> list[DelegationCount]:
        """Per Member State with a recorded delegation: members by category (OP8)."""
        categories = [term.id for term in load_rules().delegations.categories]
        per_state: dict[str, Counter[str]] = {}
        for member in self.members(edition):
            per_state.setdefault(member.state, Counter())[member.category] += 1
        known = states()
        return [DelegationCount(state=code, state_name=known[code].name,
                                by_category={c: counts[c] for c in categories},
                                total=sum(counts.values()))
                for code, counts in sorted(per_state.items())]

    def _write(self, edition: int, rows: list[dict[str, Any]]) -> dict[str, int]:
        keyed = [r | {"edition": edition, "key": _key(r)} for r in rows]
        with self._store.unit_of_work() as uow:
            counts = upsert(uow.connection, table, keyed, keys=("edition", "state", "key"),
                            fields=_FIELDS)
            uow.commit()
        return dict(zip(("imported", "updated", "unchanged"), counts, strict=True))
