"""The message ledger: one row per (edition, milestone, kind, recipient), so nobody gets the
same message twice.

The protocol a notifier follows, each step its own committed transaction:

1. :meth:`Ledger.reserve` the keys of a fan-out: missing rows are added as ``pending``; the
   answer says which keys may be sent now (``pending``, or ``failed`` with a retryable
   reason) and which are already ``sent``, ``unknown`` or failed for good.
2. Before each provider request, :meth:`Ledger.mark_in_flight` claims the chunk's rows under a
   fresh attempt id, setting them ``unknown``. Only the keys it returns may be sent: a row
   another notifier claimed first is not returned. If the process dies after the provider
   accepted the request, the rows stay ``unknown``: never re-sent, never dropped, waiting for
   an operator (:meth:`Ledger.resolve`).
3. After the response, :meth:`Ledger.mark_sent` (with the provider's message id),
   :meth:`Ledger.mark_failed` (with the reason, and whether a retry may help) or
   :meth:`Ledger.mark_pending` (the request certainly was not accepted, e.g. the connection
   was refused). These only move rows that are still ``unknown`` under the same attempt.

A crash mid-fan-out therefore resumes, on the next reserve, with exactly the rows still
``pending`` (or retryably ``failed``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import RowMapping, and_, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from imrf.delivery.message import DeliveryState, MessageKey
from imrf.store import Store
from imrf.store.bulk import bulk_insert, chunks
from imrf.store.tables import ledger_events, messages
from imrf.vocabulary import MessageKind

_SENDABLE = or_(
    messages.c.state == DeliveryState.PENDING.value,
    and_(messages.c.state == DeliveryState.FAILED.value, messages.c.retryable.is_(True)),
)
_RESOLVABLE = (DeliveryState.UNKNOWN.value, DeliveryState.FAILED.value)
_KEY_COLUMNS = ("edition", "milestone", "kind", "recipient")
_ATTEMPT_LENGTH = 64
_Group = tuple[int, str, str]  # (edition, milestone, kind)


class Reservation(BaseModel):
    """Where each reserved key stands; only ``sendable`` keys may go to a sender."""

    model_config = ConfigDict(frozen=True)

    sendable: tuple[MessageKey, ...] = ()  # pending, or failed with a retryable reason
    sent: tuple[MessageKey, ...] = ()
    unknown: tuple[MessageKey, ...] = ()  # in flight, or a crash left the outcome open
    failed: tuple[MessageKey, ...] = ()  # failed for good


class LedgerEntry(BaseModel):
    """One message's row."""

    model_config = ConfigDict(frozen=True)

    key: MessageKey
    state: DeliveryState
    attempt: str | None
    attempts: int
    message_id: str | None
    reason: str | None
    retryable: bool | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class SummaryRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    edition: int
    milestone: str
    kind: MessageKind
    state: DeliveryState
    count: int


class Resolution(BaseModel):
    """What an operator's :meth:`Ledger.resolve` changed."""

    resolved: int
    as_state: DeliveryState
    # Recipients asked for by name that were not resolved, with their state
    # ("absent" when the ledger has no such row).
    skipped: dict[str, str] = Field(default_factory=dict)


class LedgerEvent(BaseModel):
    """An audit record: who moved which message from which state to which, when and why."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    action: str
    key: MessageKey
    from_state: DeliveryState
    to_state: DeliveryState
    attempt: str | None
    reason: str


class Ledger:
    """The ledger in the store; every method is one committed transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- the notifier's protocol ----------------------------------------------------------

    def reserve(self, keys: Iterable[MessageKey]) -> Reservation:
        """Add the missing keys as ``pending`` and say where every key stands."""
        wanted = _unique(keys)
        now = _now()
        rows = [
            _key_values(key) | {"state": DeliveryState.PENDING.value, "attempts": 0,
                                "created_at": now, "updated_at": now}
            for key in wanted
        ]
        with self._store.unit_of_work() as uow:
            bulk_insert(uow.connection, messages, rows, conflict=_KEY_COLUMNS)
            stored = _states(uow.connection, wanted)
            uow.commit()
        buckets: dict[str, list[MessageKey]] = defaultdict(list)
        for key in wanted:
            state, retryable = stored[key]
            if state == DeliveryState.PENDING or (state == DeliveryState.FAILED and retryable):
                buckets["sendable"].append(key)
            else:
                buckets[state].append(key)
        return Reservation(**{name: tuple(found) for name, found in buckets.items()})

    def mark_in_flight(self, keys: Iterable[MessageKey], attempt_id: str) -> list[MessageKey]:
        """Claim the sendable rows among ``keys`` for ``attempt_id`` (state ``unknown``).

        Returns the keys this call claimed, the only ones the caller may send. A key that is
        sent, unknown, failed for good or claimed by a concurrent attempt is left out.
        """
        _check_attempt(attempt_id)
        wanted = _unique(keys)
        now = _now()
        claimed: set[tuple[_Group, str]] = set()
        with self._store.unit_of_work() as uow:
            for group, condition, _ in _selections(wanted):
                statement = (
                    update(messages)
                    .where(condition, _SENDABLE)
                    .values(
                        state=DeliveryState.UNKNOWN.value, attempt=attempt_id,
                        attempts=messages.c.attempts + 1, reason=None, retryable=None,
                        updated_at=now,
                    )
                    .returning(messages.c.recipient)
                )
                claimed.update((group, r) for r in uow.connection.execute(statement).scalars())
            uow.commit()
        return [key for key in wanted if (_group(key), key.recipient) in claimed]

    def mark_sent(
        self, keys: Iterable[MessageKey], message_id: str | None, *, attempt_id: str
    ) -> int:
        """Record that the provider accepted ``keys`` (claimed by ``attempt_id``)."""
        now = _now()
        return self._finish(
            keys, attempt_id, state=DeliveryState.SENT.value, message_id=message_id,
            sent_at=now, updated_at=now,
        )

    def mark_failed(
        self, keys: Iterable[MessageKey], reason: str, *, retryable: bool, attempt_id: str
    ) -> int:
        """Record that the provider refused ``keys``; ``retryable`` rows are sendable again."""
        return self._finish(
            keys, attempt_id, state=DeliveryState.FAILED.value, reason=reason,
            retryable=retryable, updated_at=_now(),
        )

    def mark_pending(self, keys: Iterable[MessageKey], *, attempt_id: str) -> int:
        """Return ``keys`` to ``pending``: the request was certainly not accepted."""
        return self._finish(keys, attempt_id, state=DeliveryState.PENDING.value, updated_at=_now())

    def _finish(self, keys: Iterable[MessageKey], attempt_id: str, **values: Any) -> int:
        """Move rows still in flight under ``attempt_id``; return how many moved."""
        _check_attempt(attempt_id)
        moved = 0
        with self._store.unit_of_work() as uow:
            for _, condition, _ in _selections(_unique(keys)):
                result = uow.connection.execute(
                    update(messages)
                    .where(
                        condition,
                        messages.c.state == DeliveryState.UNKNOWN.value,
                        messages.c.attempt == attempt_id,
                    )
                    .values(**values)
                )
                moved += result.rowcount
            uow.commit()
        return moved

    # --- reading ---------------------------------------------------------------------------

    def summary(self, edition: int | None = None) -> list[SummaryRow]:
        """Message counts by edition, milestone, kind and state."""
        columns = [messages.c.edition, messages.c.milestone, messages.c.kind, messages.c.state]
        query = (
            select(*columns, func.count().label("count")).group_by(*columns).order_by(*columns)
        )
        if edition is not None:
            query = query.where(messages.c.edition == edition)
        with self._store.unit_of_work(read_only=True) as uow:
            rows = uow.connection.execute(query).mappings().all()
        return [SummaryRow(**row) for row in rows]

    def entries(
        self,
        *,
        edition: int,
        milestone: str | None = None,
        kind: MessageKind | None = None,
        state: DeliveryState | None = None,
    ) -> list[LedgerEntry]:
        """The rows of an edition (optionally one milestone, kind, state), by recipient."""
        conditions = _filter(edition, milestone, kind)
        if state is not None:
            conditions.append(messages.c.state == DeliveryState(state).value)
        query = select(messages).where(*conditions).order_by(
            messages.c.milestone, messages.c.kind, messages.c.recipient
        )
        with self._store.unit_of_work(read_only=True) as uow:
            rows = uow.connection.execute(query).mappings().all()
        return [_entry(row) for row in rows]

    def events(self, *, edition: int | None = None) -> list[LedgerEvent]:
        """The audit trail of operator resolutions, oldest first."""
        query = select(ledger_events).order_by(ledger_events.c.id)
        if edition is not None:
            query = query.where(ledger_events.c.edition == edition)
        with self._store.unit_of_work(read_only=True) as uow:
            rows = uow.connection.execute(query).mappings().all()
        return [
            LedgerEvent(
                at=_aware(row["at"]), actor=row["actor"], action=row["action"], key=_key(row),
                from_state=row["from_state"], to_state=row["to_state"],
                attempt=row["attempt"], reason=row["reason"],
            )
            for row in rows
        ]

    # --- the operator ----------------------------------------------------------------------

    def resolve(
        self,
        *,
        edition: int,
        milestone: str,
        kind: MessageKind,
        as_state: DeliveryState,
        reason: str,
        actor: str,
        recipients: Iterable[str] | None = None,
    ) -> Resolution:
        """Settle ``unknown`` rows as ``sent`` or back to ``pending``.

        Without ``recipients`` every ``unknown`` row of the milestone's kind is settled;
        recipients named one by one may also be ``failed`` ones (e.g. an address corrected
        after a bounce). ``sent`` rows are never touched: what was sent stays sent. Each
        change is recorded with ``actor`` and ``reason`` in the audit trail.
        """
        target = DeliveryState(as_state)
        if target not in (DeliveryState.SENT, DeliveryState.PENDING):
            raise ValueError(f"a message can be resolved as sent or pending, not {target}")
        reason, actor = reason.strip(), actor.strip()
        if not reason:
            raise ValueError("a resolution needs a reason (it goes into the audit trail)")
        if not actor:
            raise ValueError("a resolution needs the name of who made it")
        named = None if recipients is None else sorted({r.strip().lower() for r in recipients})
        now = _now()
        with self._store.unit_of_work() as uow:
            allowed = _RESOLVABLE if named is not None else (DeliveryState.UNKNOWN.value,)
            found = _candidate_rows(uow.connection, _filter(edition, milestone, kind), named)
            chosen = [row for row in found if row["state"] in allowed]
            _settle(uow.connection, chosen, target, reason, now)
            bulk_insert(
                uow.connection, ledger_events,
                [_event(row, target, actor, reason, now) for row in chosen],
                conflict=(),
            )
            uow.commit()
        by_recipient = {row["recipient"]: row["state"] for row in found}
        skipped = {
            r: by_recipient.get(r, "absent")
            for r in named or ()
            if by_recipient.get(r) not in _RESOLVABLE
        }
        return Resolution(resolved=len(chosen), as_state=target, skipped=skipped)


# --- helpers ----------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _check_attempt(attempt_id: str) -> None:
    if not attempt_id or len(attempt_id) > _ATTEMPT_LENGTH:
        raise ValueError(f"an attempt id must have 1 to {_ATTEMPT_LENGTH} characters")


def _unique(keys: Iterable[MessageKey]) -> list[MessageKey]:
    """Keys with lower-cased recipients, first occurrence kept, in the given order."""
    seen: dict[MessageKey, None] = {}
    for key in keys:
        if key.recipient != key.recipient.lower():
            key = key.model_copy(update={"recipient": key.recipient.lower()})
        seen.setdefault(key, None)
    return list(seen)


def _group(key: MessageKey) -> _Group:
    return (key.edition, key.milestone, MessageKind(key.kind).value)


def _key_values(key: MessageKey) -> dict[str, Any]:
    edition, milestone, kind = _group(key)
    return {"edition": edition, "milestone": milestone, "kind": kind, "recipient": key.recipient}


def _filter(
    edition: int, milestone: str | None = None, kind: MessageKind | str | None = None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [messages.c.edition == edition]
    if milestone is not None:
        conditions.append(messages.c.milestone == milestone)
    if kind is not None:
        conditions.append(messages.c.kind == MessageKind(kind).value)
    return conditions


def _selections(
    keys: Sequence[MessageKey],
) -> Iterator[tuple[_Group, ColumnElement[bool], Sequence[str]]]:
    """WHERE clauses covering ``keys``: one per (edition, milestone, kind) and chunk."""
    groups: dict[_Group, list[str]] = defaultdict(list)
    for key in keys:
        groups[_group(key)].append(key.recipient)
    for group, recipients in groups.items():
        for chunk in chunks(recipients):
            condition = and_(*_filter(*group), messages.c.recipient.in_(chunk))
            yield group, condition, chunk


def _states(conn: Connection, keys: Sequence[MessageKey]) -> dict[MessageKey, tuple[str, bool]]:
    found: dict[tuple[_Group, str], tuple[str, bool]] = {}
    for group, condition, _ in _selections(keys):
        query = select(messages.c.recipient, messages.c.state, messages.c.retryable).where(
            condition
        )
        for recipient, state, retryable in conn.execute(query):
            found[(group, recipient)] = (state, bool(retryable))
    return {key: found[(_group(key), key.recipient)] for key in keys}


def _candidate_rows(
    conn: Connection, conditions: list[ColumnElement[bool]], named: Sequence[str] | None
) -> list[RowMapping]:
    """The unknown rows matching ``conditions``, or every row of the ``named`` recipients,
    locked against a concurrent notifier (SQLite: by BEGIN IMMEDIATE)."""
    columns = [messages.c.id, *(messages.c[c] for c in _KEY_COLUMNS), messages.c.state,
               messages.c.attempt]
    if named is None:
        query = select(*columns).where(
            *conditions, messages.c.state == DeliveryState.UNKNOWN.value
        )
        return list(conn.execute(query.with_for_update()).mappings())
    rows: list[RowMapping] = []
    for chunk in chunks(named):
        query = select(*columns).where(*conditions, messages.c.recipient.in_(chunk))
        rows.extend(conn.execute(query.with_for_update()).mappings())
    return rows


def _settle(
    conn: Connection,
    rows: Sequence[RowMapping],
    target: DeliveryState,
    reason: str,
    now: datetime,
) -> None:
    if target is DeliveryState.SENT:
        values: dict[str, Any] = {"state": target.value, "reason": reason, "retryable": None}
    else:
        values = {"state": target.value, "reason": None, "retryable": None}
    for chunk in chunks([row["id"] for row in rows]):
        conn.execute(
            update(messages).where(messages.c.id.in_(chunk)).values(updated_at=now, **values)
        )


def _event(
    row: RowMapping, target: DeliveryState, actor: str, reason: str, now: datetime
) -> dict[str, Any]:
    return {
        "at": now, "actor": actor, "action": "resolve",
        **{column: row[column] for column in _KEY_COLUMNS},
        "from_state": row["state"], "to_state": target.value, "attempt": row["attempt"],
        "reason": reason,
    }


def _key(row: RowMapping) -> MessageKey:
    return MessageKey(**{column: row[column] for column in _KEY_COLUMNS})


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _entry(row: RowMapping) -> LedgerEntry:
    return LedgerEntry(
        key=_key(row),
        state=row["state"],
        attempt=row["attempt"],
        attempts=row["attempts"],
        message_id=row["message_id"],
        reason=row["reason"],
        retryable=row["retryable"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
        sent_at=_aware(row["sent_at"]),
    )
