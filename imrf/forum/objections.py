"""Objections to names on the PGA list, the President's decisions and the final list
(OP7, footnote 4).

An objection names a candidate (``#id``, the name, or ``name (organization)``) and the
objecting State, which must be a Member State; the general basis is voluntary. Objections
are confidential: only :meth:`ObjectionRegistry.disclose` returns them, and each call first
writes an audit row (who asked, for which Member State or the President's office, when, why)
in the same transaction. Other outputs (the final list, the report to the General Assembly)
say that a name was not retained, never which State objected.

The final list is the proposed list minus the names objected to, unless the President
overruled the objection (a recorded decision with its reason).

:data:`STEP_HOOK` connects the ``objections`` human step (``imrf.human_steps``): its answer is
checked here (a non-Member or an unknown candidate is refused) and recorded here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from imrf.forum.participation import ParticipationError, identity, member_state, text
from imrf.forum.stakeholders import Candidate, StakeholderList
from imrf.human_steps import Objection, Objections
from imrf.reference import states
from imrf.store import Store
from imrf.store.bulk import bulk_insert
from imrf.store.tables_participation import objection_disclosures as disclosures
from imrf.store.tables_participation import stakeholder_decisions as decisions
from imrf.store.tables_participation import stakeholder_objections as table

PGA_OFFICE = "pga-office"
OVERRULE = "overrule"
_ID = re.compile(r"^#?(\d+)$")


class ObjectionRecord(BaseModel):
    """One objection as disclosed (confidential)."""

    model_config = ConfigDict(frozen=True)

    candidate_id: int
    candidate: str
    organization: str
    state: str
    general_basis: str
    source: str
    recorded_at: datetime


class Disclosure(BaseModel):
    """An audit row: objections shown to someone (footnote 4)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    requested_by: str
    objections: int
    reason: str


class FinalList(BaseModel):
    """The proposed and final names (footnote 4); no objecting State is named."""

    edition: int
    proposed: list[Candidate]
    final: list[Candidate]
    not_retained: list[Candidate]  # objected to, not overruled
    kept_by_decision: list[Candidate]  # objected to, overruled by the President


def find_candidate(candidates: Sequence[Candidate], ref: str) -> Candidate:
    """The candidate ``ref`` names (``#id``, name, or ``name (organization)``)."""
    ref = ref.strip()
    if match := _ID.match(ref):
        number = int(match.group(1))
        found = [c for c in candidates if c.id == number]
    else:
        key = identity(ref)
        found = [c for c in candidates if key in (identity(c.name),
                                                   identity(f"{c.name} ({c.organization})"))]
    if not found:
        raise ParticipationError(f"{ref!r} is not on the PGA list")
    if len(found) > 1:
        ids = ", ".join(f"#{c.id} ({c.organization})" for c in found)
        raise ParticipationError(f"{ref!r} names several candidates ({ids}): give the number")
    return found[0]


class ObjectionRegistry:
    """Objections and decisions of the store; every method is one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._list = StakeholderList(store)

    def problems(self, edition: int, objections: Sequence[Objection]) -> list[str]:
        """Why ``objections`` cannot be recorded (empty: they can)."""
        return self._resolve(edition, objections)[1]

    def record(self, edition: int, objections: Sequence[Objection], *, source: str,
               actor: str) -> int:
        """Record every objection or none (a ParticipationError lists the problems).

        Recording an objection again (same candidate and State) updates its basis.
        """
        resolved, problems = self._resolve(edition, objections)
        if problems:
            raise ParticipationError("; ".join(problems))
        now = datetime.now(UTC)
        rows = [{"edition": edition, "candidate_id": candidate.id, "state": o.state.upper(),
                 "general_basis": o.general_basis.strip(), "source": source,
                 "actor": text(actor, limit=200), "recorded_at": now}
                for candidate, o in resolved]
        with self._store.unit_of_work() as uow:
            bulk_insert(uow.connection, table, rows, conflict=["candidate_id", "state"],
                        update=["general_basis", "source", "actor", "recorded_at"])
            uow.commit()
        return len(rows)

    def overrule(self, edition: int, ref: str, *, reason: str, actor: str) -> Candidate:
        """The President keeps ``ref`` on the final list despite objections (recorded)."""
        candidate = find_candidate(self._list.candidates(edition), ref)
        reason = text(reason, limit=2000)
        with self._store.unit_of_work() as uow:
            conn = uow.connection
            count = conn.execute(select(func.count()).select_from(table).where(
                table.c.candidate_id == candidate.id)).scalar_one()
            if not count:
                raise ParticipationError(f"#{candidate.id} {candidate.name}: no objection to "
                                         "overrule")
            bulk_insert(conn, decisions, [{
                "edition": edition, "candidate_id": candidate.id, "decision": OVERRULE,
                "reason": reason, "actor": text(actor, limit=200),
                "decided_at": datetime.now(UTC)}],
                conflict=["candidate_id", "decision"], update=["reason", "actor", "decided_at"])
            uow.commit()
        return candidate

    def disclose(self, edition: int, *, requested_by: str, actor: str,
                 reason: str) -> list[ObjectionRecord]:
        """The objections of ``edition``, shown to ``requested_by`` (a Member State's code or
        ``pga-office``); the audit row is committed before anything is returned."""
        who = requested_by.strip()
        if who.lower() == PGA_OFFICE:
            who = PGA_OFFICE
        else:
            who = member_state(who, states(), "requested by").iso3
        audit = {"edition": edition, "at": datetime.now(UTC), "actor": text(actor, limit=200),
                 "requested_by": who, "reason": text(reason, limit=2000)}
        with self._store.unit_of_work() as uow:
            found = _objections(uow.connection, edition)
            uow.connection.execute(disclosures.insert().values(audit | {"objections": len(found)}))
            uow.commit()
        return found

    def disclosures(self, edition: int) -> list[Disclosure]:
        """The audit trail of disclosures, oldest first."""
        query = select(*(disclosures.c[f] for f in Disclosure.model_fields)).where(
            disclosures.c.edition == edition).order_by(disclosures.c.id)
        with self._store.unit_of_work(read_only=True) as uow:
            return [Disclosure.model_validate(dict(r))
                    for r in uow.connection.execute(query).mappings()]

    def final_list(self, edition: int) -> FinalList:
        """The proposed names, the final ones and those not retained (footnote 4)."""
        with self._store.unit_of_work(read_only=True) as uow:
            conn = uow.connection
            objected = set(conn.execute(select(table.c.candidate_id).where(
                table.c.edition == edition)).scalars())
            overruled = set(conn.execute(select(decisions.c.candidate_id).where(
                decisions.c.edition == edition, decisions.c.decision == OVERRULE)).scalars())
        proposed = self._list.candidates(edition)
        return FinalList(
            edition=edition, proposed=proposed,
            final=[c for c in proposed if c.id not in objected or c.id in overruled],
            not_retained=[c for c in proposed if c.id in objected and c.id not in overruled],
            kept_by_decision=[c for c in proposed if c.id in objected and c.id in overruled])

    def _resolve(self, edition: int, objections: Sequence[Objection]
                 ) -> tuple[list[tuple[Candidate, Objection]], list[str]]:
        candidates = self._list.candidates(edition)
        known = states()
        resolved: list[tuple[Candidate, Objection]] = []
        problems: list[str] = []
        for objection in objections:
            role = f"objection to {objection.candidate!r}"
            try:
                member_state(objection.state, known, f"{role} (footnote 4)")
                resolved.append((find_candidate(candidates, objection.candidate), objection))
            except ParticipationError as exc:
                problems.append(str(exc) if str(exc).startswith(role) else f"{role}: {exc}")
        return resolved, problems


def _objections(conn: Connection, edition: int) -> list[ObjectionRecord]:
    from imrf.store.tables_participation import stakeholder_candidates as candidates

    query = (select(table.c.candidate_id, candidates.c.name.label("candidate"),
                    candidates.c.organization, table.c.state, table.c.general_basis,
                    table.c.source, table.c.recorded_at)
             .join(candidates, candidates.c.id == table.c.candidate_id)
             .where(table.c.edition == edition).order_by(table.c.candidate_id, table.c.state))
    return [ObjectionRecord.model_validate(dict(r)) for r in conn.execute(query).mappings()]


class _StepHook:
    """The ``objections`` human step: checked against the list, recorded on acceptance."""

    def check(self, store: Store, edition: int, answer: BaseModel) -> list[str]:
        assert isinstance(answer, Objections)
        return ObjectionRegistry(store).problems(edition, answer.objections)

    def record(self, store: Store, edition: int, answer: BaseModel) -> None:
        assert isinstance(answer, Objections)
        ObjectionRegistry(store).record(edition, answer.objections, source="human-step",
                                        actor="operator (Prefect form)")


STEP_HOOK = _StepHook()
