"""Sending one milestone's message to its audiences, exactly once per recipient.

The ledger protocol (see :mod:`imrf.ledger`) wraps every provider request: rows are claimed
(``unknown``) before the request and settled after it, so a crash leaves ``unknown`` rows for
an operator, a re-run sends only what is still ``pending``, and two notifiers running at once
never both send a row.

Requests overlap: while the provider works on one chunk, the next is claimed and sent
(``in_flight`` at a time, two by default). The ledger is only ever written from the calling
thread, and each chunk is claimed before it goes out and settled after its answer, so a crash
leaves at most ``in_flight`` chunks ``unknown``, never one sent twice.
"""

from __future__ import annotations

import contextvars
import gc
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from typing import NamedTuple

from pydantic import BaseModel

from imrf import chasing
from imrf.contacts import Addressee, ContactRegistry, ContactRow
from imrf.delivery.base import ChunkResult, DeliveryError, Sender
from imrf.delivery.message import DeliveryState, MessageBatch
from imrf.ledger import Ledger, Occasion
from imrf.milestones import EditionCalendar
from imrf.rendering import recipient_data, render_batch
from imrf.vocabulary import Audience, MessageKind


class NotifySummary(BaseModel):
    """What one notification did (the JSON of `imrf notify`)."""

    edition: int
    milestone: str
    kind: MessageKind
    days_before: int | None = None
    recipients: int = 0
    sent: int = 0
    already_sent: int = 0
    failed: int = 0
    unknown: int = 0
    requests: int = 0
    dry_run: bool = False
    errors: list[str] = []

    def add(self, other: NotifySummary) -> None:
        for field in ("recipients", "sent", "already_sent", "failed", "unknown", "requests"):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.errors += other.errors


def occasion(milestone_id: str, kind: MessageKind, days_before: int | None = None,
             step: str | None = None) -> str:
    """The ledger's `milestone` value: each reminder offset and each step is its own message."""
    if kind is MessageKind.REMINDER:
        return f"{milestone_id}@{days_before}d"
    if step:
        return f"{milestone_id}#{step}"
    return milestone_id


Progress = Callable[[int, int], None]  # (recipients handled so far, total)


class _GcPause:
    """Pauses Python's cyclic garbage collector while at least one fan-out runs.

    A fan-out keeps some ten objects per recipient alive until it ends (its recipients, their
    personalizations, request bodies), none of them in a reference cycle: reference counting
    frees them all when it returns. With the collector on, those 100,000 survivors trigger
    full collections of the whole heap while they are alive (one costing 130 ms in a process
    sending 10,000 messages, two costing 250 ms in the benchmark's); paused, that work never
    happens. Only cyclic garbage made meanwhile waits, for the length of the fan-out. Nested
    and concurrent fan-outs share one pause; a collector someone else disabled stays so.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._restore = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._restore = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._restore:
                    gc.enable()


_gc_paused = _GcPause()


class _Claimed(NamedTuple):
    """One chunk whose rows this notifier holds in flight under ``attempt``."""

    attempt: str
    recipients: list[str]  # lower-cased, as the ledger keys them
    chunk: MessageBatch


class Notifier:
    def __init__(self, *, registry: ContactRegistry, ledger: Ledger, sender: Sender,
                 after_request: Callable[[MessageBatch], None] | None = None,
                 in_flight: int = 2) -> None:
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        self.registry = registry
        self.in_flight = in_flight
        self.ledger = ledger
        # Public and settable: a wrapper (e.g. one counting what goes out) may replace it.
        self.sender = sender
        # Test seam: runs after the provider accepted a chunk and before the ledger records it.
        self._after_request = after_request
        # One pool for every fan-out of this notifier: starting its threads anew for each
        # one took 2 s of a simulation's 73 fan-outs (a new thread waits for the interpreter
        # lock before it may run, while the other senders hold it).
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def recipients(self, audiences: Sequence[Audience]) -> list[ContactRow]:
        return self.registry.contacts_for(audiences)

    def notify(
        self,
        *,
        calendar: EditionCalendar,
        milestone_id: str,
        kind: MessageKind,
        days_before: int | None = None,
        audiences: Sequence[Audience] | None = None,
        recipients: Sequence[ContactRow] | None = None,
        step: str | None = None,
        ui_link: str | None = None,
        extra: Mapping[str, str] | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> NotifySummary:
        """Send `kind` of `milestone_id` to its audiences (or to `recipients`).

        A dry run writes and sends nothing and reports what the real run would find already
        sent, failed for good or unknown. When a ``DeliveryError`` stops the fan-out, what was
        done until then is attached to it as ``summary`` (a :class:`NotifySummary`).
        """
        # Checked before the ledger is touched: a reminder keyed "milestone@Noned" would
        # otherwise be reserved for every recipient and never sent.
        if (kind is MessageKind.REMINDER) != (days_before is not None):
            raise ValueError("a reminder needs days_before, and only a reminder takes it")
        with _gc_paused():
            return self._notify(
                calendar=calendar, milestone_id=milestone_id, kind=kind,
                days_before=days_before, audiences=audiences, recipients=recipients, step=step,
                ui_link=ui_link, extra=extra, dry_run=dry_run, progress=progress,
            )

    def _notify(
        self,
        *,
        calendar: EditionCalendar,
        milestone_id: str,
        kind: MessageKind,
        days_before: int | None,
        audiences: Sequence[Audience] | None,
        recipients: Sequence[ContactRow] | None,
        step: str | None,
        ui_link: str | None,
        extra: Mapping[str, str] | None,
        dry_run: bool,
        progress: Progress | None,
    ) -> NotifySummary:
        milestone = calendar.get(milestone_id)
        people: Sequence[Addressee | ContactRow]
        if recipients is None:
            people = self.registry.recipients_for(audiences or milestone.audiences)
        else:
            people = recipients
        key_name = occasion(milestone_id, kind, days_before, step)
        # One entry per address: the ledger keys messages by the lower-cased address.
        by_email = {person.email.lower(): person for person in people}
        if kind is MessageKind.REMINDER:
            for email in chasing.done(self.registry.store, calendar.edition, milestone_id):
                by_email.pop(email, None)
        ledger_occasion = Occasion(calendar.edition, key_name, kind)
        summary = NotifySummary(edition=calendar.edition, milestone=key_name, kind=kind,
                                days_before=days_before, recipients=len(by_email),
                                dry_run=dry_run)
        if dry_run:
            reservation = self.ledger.preview(ledger_occasion, by_email)
        else:
            reservation = self.ledger.reserve_recipients(ledger_occasion, by_email)
        summary.already_sent = len(reservation.sent)
        summary.unknown = len(reservation.unknown)
        summary.failed = len(reservation.failed)
        if dry_run or not reservation.sendable:
            return summary
        batch = render_batch(
            calendar=calendar, milestone_id=milestone_id, kind=kind,
            recipients=[recipient_data(email, by_email[email].name,
                                       by_email[email].organization)
                        for email in reservation.sendable],
            days_before=days_before, ui_link=ui_link, extra=extra,
        )
        # The ledger names the occasion; SendGrid's custom_args carry it for webhook matching.
        batch = batch.model_copy(update={"milestone": key_name,
                                         "custom_args": {**batch.custom_args,
                                                         "ledger_milestone": key_name}})
        chunks = self.sender.chunks(batch)
        total = len(reservation.sendable)
        done = 0
        flying: deque[tuple[_Claimed, Future[ChunkResult]]] = deque()
        error: DeliveryError | None = None

        def settle_until(left: int) -> None:
            """Record the oldest answers until at most ``left`` requests are out."""
            nonlocal done
            while len(flying) > left:
                done += self._settle(ledger_occasion, *flying.popleft(), summary)
                if progress is not None:
                    progress(done, total)

        pool = self._senders()
        try:
            for chunk in chunks:
                claimed = self._claim(ledger_occasion, chunk, summary)
                if claimed is not None:
                    # The caller's context goes with the request: its log lines (a wait
                    # for a 429) belong to the caller's run, e.g. in Prefect.
                    flying.append((claimed, pool.submit(
                        contextvars.copy_context().run, self.sender.send_chunk,
                        claimed.chunk)))
                settle_until(self.in_flight - 1)
            settle_until(0)
        except DeliveryError as exc:
            error = exc
            # The requests already out get their answers recorded before we stop.
            while flying:
                with suppress(DeliveryError):  # _settle records it in summary.errors
                    self._settle(ledger_occasion, *flying.popleft(), summary)
        except BaseException:
            # Anything else (a ledger error, an interrupt): the requests out are let finish,
            # unrecorded, so that none outlives the call; their rows stay unknown, as after
            # a crash.
            wait([request for _, request in flying])
            raise
        if error is not None:
            error.summary = summary
            raise error
        return summary

    def _senders(self) -> ThreadPoolExecutor:
        """The threads requests go out on (``in_flight`` of them, shared by fan-outs)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.in_flight,
                                                thread_name_prefix="imrf-send")
            return self._pool

    def close(self) -> None:
        """Let the sending threads end (a later fan-out starts new ones)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _claim(self, ledger_occasion: Occasion, chunk: MessageBatch,
               summary: NotifySummary) -> _Claimed | None:
        """Claim ``chunk``'s rows for a new attempt; None if another notifier has them all."""
        attempt = uuid.uuid4().hex
        wanted = [p.email.lower() for p in chunk.recipients]
        claimed = self.ledger.claim(ledger_occasion, wanted, attempt)
        if len(claimed) < len(wanted):
            # Another notifier claimed some rows first: it sends those, we send the rest.
            mine = set(claimed)
            summary.already_sent += len(wanted) - len(claimed)
            chunk = chunk.model_copy(update={"recipients": tuple(
                p for p in chunk.recipients if p.email.lower() in mine)})
            if not chunk.recipients:
                return None
        return _Claimed(attempt, claimed, chunk)

    def _settle(self, ledger_occasion: Occasion, claimed: _Claimed,
                request: Future[ChunkResult], summary: NotifySummary) -> int:
        """Record the answer to one chunk's request; return how many recipients it had."""
        attempt, chunk = claimed.attempt, claimed.chunk
        try:
            result = request.result()
        except DeliveryError as exc:
            summary.requests += 1
            summary.errors.append(str(exc))
            if exc.maybe_delivered:
                summary.unknown += len(claimed.recipients)  # stays unknown: an operator decides
            else:
                self.ledger.mark_pending(None, attempt_id=attempt)  # every row claimed above
            raise
        claimed_rows = claimed.recipients
        summary.requests += max(result.attempts, 1) if result.status is not None else 1
        if self._after_request is not None:
            self._after_request(chunk)
        sent = [r for r in claimed_rows if result.states.get(r) is DeliveryState.SENT]
        failed = [r for r in claimed_rows if result.states.get(r) is DeliveryState.FAILED]
        if sent:
            # The whole attempt when every claimed row was sent: one UPDATE, no address list.
            self.ledger.mark_sent(None if len(sent) == len(claimed_rows) else
                                  [ledger_occasion.key(r) for r in sent],
                                  result.message_id, attempt_id=attempt)
        if failed:
            reason = "; ".join(result.errors) or "refused by the provider"
            self.ledger.mark_failed(None if len(failed) == len(claimed_rows) else
                                    [ledger_occasion.key(r) for r in failed],
                                    reason[:2000], retryable=False, attempt_id=attempt)
            summary.errors.append(reason)
        summary.sent += len(sent)
        summary.failed += len(failed)
        return len(chunk.recipients)
