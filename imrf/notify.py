"""Sending one milestone's message to its audiences, exactly once per recipient.

The ledger protocol (see :mod:`imrf.ledger`) wraps every provider request: rows are claimed
(``unknown``) before the request and settled after it, so a crash leaves ``unknown`` rows for
an operator, a re-run sends only what is still ``pending``, and two notifiers running at once
never both send a row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel

from imrf.contacts import ContactRegistry, ContactRow
from imrf.delivery.base import DeliveryError, Sender
from imrf.delivery.message import DeliveryState, MessageBatch, MessageKey
from imrf.ledger import Ledger
from imrf.milestones import EditionCalendar
from imrf.rendering import RecipientData, render_batch
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


class Notifier:
    def __init__(self, *, registry: ContactRegistry, ledger: Ledger, sender: Sender,
                 after_request: Callable[[MessageBatch], None] | None = None) -> None:
        self.registry = registry
        self.ledger = ledger
        self.sender = sender
        # Test seam: runs after the provider accepted a chunk and before the ledger records it.
        self._after_request = after_request

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
        """Send `kind` of `milestone_id` to its audiences (or to `recipients`)."""
        milestone = calendar.get(milestone_id)
        if recipients is None:
            recipients = self.recipients(audiences or milestone.audiences)
        key_name = occasion(milestone_id, kind, days_before, step)
        by_email = {c.email.lower(): c for c in recipients}
        keys = [MessageKey(edition=calendar.edition, milestone=key_name, kind=kind, recipient=e)
                for e in by_email]
        summary = NotifySummary(edition=calendar.edition, milestone=key_name, kind=kind,
                                days_before=days_before, recipients=len(keys), dry_run=dry_run)
        if dry_run:
            states = {entry.key.recipient: entry.state for entry in self.ledger.entries(
                edition=calendar.edition, milestone=key_name, kind=kind)}
            summary.already_sent = sum(1 for k in keys
                                       if states.get(k.recipient) is DeliveryState.SENT)
            summary.unknown = sum(1 for k in keys
                                  if states.get(k.recipient) is DeliveryState.UNKNOWN)
            return summary
        reservation = self.ledger.reserve(keys)
        summary.already_sent = len(reservation.sent)
        summary.unknown = len(reservation.unknown)
        summary.failed = len(reservation.failed)
        if not reservation.sendable:
            return summary
        batch = render_batch(
            calendar=calendar, milestone_id=milestone_id, kind=kind,
            recipients=[RecipientData(email=k.recipient, name=by_email[k.recipient].name,
                                      organization=by_email[k.recipient].organization)
                        for k in reservation.sendable],
            days_before=days_before, ui_link=ui_link, extra=extra,
        )
        # The ledger names the occasion; SendGrid's custom_args carry it for webhook matching.
        batch = batch.model_copy(update={"milestone": key_name,
                                         "custom_args": {**batch.custom_args,
                                                         "ledger_milestone": key_name}})
        done = 0
        for chunk in self.sender.chunks(batch):
            self._send_chunk(chunk, summary)
            done += len(chunk.recipients)
            if progress is not None:
                progress(done, len(reservation.sendable))
        return summary

    def _send_chunk(self, chunk: MessageBatch, summary: NotifySummary) -> None:
        attempt = uuid.uuid4().hex
        wanted = [chunk.key_for(p.email) for p in chunk.recipients]
        claimed = self.ledger.mark_in_flight(wanted, attempt)
        if len(claimed) < len(wanted):
            # Another notifier claimed some rows first: it sends those, we send the rest.
            mine = {k.recipient for k in claimed}
            summary.already_sent += len(wanted) - len(claimed)
            chunk = chunk.model_copy(update={"recipients": tuple(
                p for p in chunk.recipients if p.email.lower() in mine)})
            if not chunk.recipients:
                return
        try:
            result = self.sender.send_chunk(chunk)
        except DeliveryError as exc:
            summary.requests += 1
            summary.errors.append(str(exc))
            if exc.maybe_delivered:
                summary.unknown += len(claimed)  # stays unknown: an operator decides
            else:
                self.ledger.mark_pending(claimed, attempt_id=attempt)
            raise
        summary.requests += max(result.attempts, 1) if result.status is not None else 1
        if self._after_request is not None:
            self._after_request(chunk)
        sent = [k for k in claimed if result.states.get(k.recipient) is DeliveryState.SENT]
        failed = [k for k in claimed if result.states.get(k.recipient) is DeliveryState.FAILED]
        if sent:
            self.ledger.mark_sent(sent, result.message_id, attempt_id=attempt)
        if failed:
            reason = "; ".join(result.errors) or "refused by the provider"
            self.ledger.mark_failed(failed, reason[:2000], retryable=False, attempt_id=attempt)
            summary.errors.append(reason)
        summary.sent += len(sent)
        summary.failed += len(failed)
