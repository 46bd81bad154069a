"""Registration for the forum of ECOSOC-status NGOs and accredited stakeholders (OP6).

One registry per edition, keyed by the registrant's lower-cased address, with a status
(``registered``, ``pending``, ``rejected``). Filled from a CSV file (columns
``email,name,organization,accreditation`` and optionally ``status``, default ``pending``) or
one entry at a time; a re-import updates by address. Reminders before
``stakeholder-registration`` skip those :func:`imrf.forum.participation.registered` names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update

from imrf.contacts import ImportReport, SourceRow
from imrf.forum.participation import ParticipationError, email, load_rules, one_of, text
from imrf.forum.registrations_io import Problems, check_values, parse_rows, upsert
from imrf.store import Store
from imrf.store.tables_participation import stakeholder_registrations as table

REQUIRED_COLUMNS = ("email", "name", "organization", "accreditation")
OPTIONAL_COLUMNS = ("status",)
Status = Literal["registered", "pending", "rejected"]
_FIELDS = ("name", "organization", "accreditation", "status")


class Registration(BaseModel):
    """A registrant for one edition (OP6)."""

    model_config = ConfigDict(frozen=True)

    email: str  # lower-cased
    name: str
    organization: str
    accreditation: str
    status: Status = "pending"


def check_registration(values: Mapping[str, str | None]) -> tuple[dict[str, Any], Problems]:
    """One registrant's values checked against ``config/participation.yaml`` (OP6)."""
    rules = load_rules().registration
    accreditations = tuple(term.id for term in rules.accreditations)
    return check_values(values, {
        "email": email,
        "name": lambda v: text(v, limit=200),
        "organization": lambda v: text(v, limit=300),
        "accreditation": lambda v: one_of(v, accreditations, "accreditation"),
        "status": lambda v: one_of(v or "pending", rules.statuses, "status"),
    })


class RegistrationRegistry:
    """The registrants of the store; every method is one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def import_rows(self, edition: int, rows: Iterable[SourceRow]) -> ImportReport:
        """Validate ``rows``, upsert the good ones (by address) and report the rest."""
        parsed = parse_rows(rows, check_registration, lambda r: r["email"], "address")
        return ImportReport(errors=parsed.errors, **self._write(edition, parsed.rows))

    def register(self, edition: int, values: Mapping[str, str | None]) -> ImportReport:
        """One registrant (the CLI's single entry); a ParticipationError if it is refused."""
        checked, problems = check_registration(values)
        if problems:
            raise ParticipationError("; ".join(f"{f}: {r}" for f, r in problems))
        return ImportReport(**self._write(edition, [checked]))

    def set_status(self, edition: int, address: str, status: Status) -> None:
        """Change one registrant's status (refused if the address is not registered)."""
        checked = one_of(status, load_rules().registration.statuses, "status")
        with self._store.unit_of_work() as uow:
            done = uow.connection.execute(
                update(table).where(table.c.edition == edition,
                                    table.c.email == address.strip().lower())
                .values(status=checked, updated_at=datetime.now(UTC)))
            if done.rowcount != 1:
                raise ParticipationError(f"{address}: no registration for {edition}")
            uow.commit()

    def registrations(self, edition: int, status: Status | None = None) -> list[Registration]:
        """The registrants of ``edition`` (with ``status``), by address."""
        query = select(table.c.email, *(table.c[f] for f in _FIELDS)).where(
            table.c.edition == edition).order_by(table.c.email)
        if status is not None:
            query = query.where(table.c.status == status)
        with self._store.unit_of_work(read_only=True) as uow:
            rows = uow.connection.execute(query).mappings().all()
        return [Registration.model_validate(dict(row)) for row in rows]

    def _write(self, edition: int, rows: list[dict[str, Any]]) -> dict[str, int]:
        with self._store.unit_of_work() as uow:
            counts = upsert(uow.connection, table, [r | {"edition": edition} for r in rows],
                            keys=("edition", "email"), fields=_FIELDS)
            uow.commit()
        return dict(zip(("imported", "updated", "unchanged"), counts, strict=True))
