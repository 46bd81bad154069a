"""Documents the forum depends on, tracked against the milestone they are due by.

Which documents, their paragraph and their deadline are data (`forum_documents` in the
modalities): the background note of each round table (OP29), its technical summary (OP31),
the Secretary-General's report (OP15), the policy debate and plenary summaries (OP35, OP41).
`outstanding` is what to chase on a day: every document not received, overdue ones first.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from imrf.fields import HttpLink
from imrf.forum.rows import ForumError, fetch, now, upsert
from imrf.milestones import EditionCalendar
from imrf.modalities import ForumDocument, Modalities
from imrf.store import Store
from imrf.store.tables_forum import forum_documents

DocState = Literal["received", "overdue", "pending"]


class Received(BaseModel):
    """A document as received: where to read it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document: str
    roundtable: int = Field(default=0, ge=0, description="0: not a round table's document")
    link: HttpLink
    received_on: dt.date
    symbol: str | None = Field(default=None, max_length=100)


class DocumentStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    document: str
    title: str
    paragraph: str
    roundtable: int
    due: dt.date
    state: DocState
    received: Received | None = None

    @property
    def label(self) -> str:
        where = f" of round table {self.roundtable}" if self.roundtable else ""
        return f"{self.title}{where} ({self.paragraph})"


def check_received(item: Received, modalities: Modalities) -> ForumDocument:
    try:
        spec = modalities.forum_document(item.document)
    except KeyError as exc:
        raise ForumError(str(exc.args[0])) from None
    count = len(modalities.roundtables)
    if spec.per_roundtable and not 1 <= item.roundtable <= count:
        raise ForumError(f"{spec.id}: give the round table (1 to {count}) it belongs to")
    if not spec.per_roundtable and item.roundtable:
        raise ForumError(f"{spec.id} is not a round table's document: give no round table")
    return spec


def record(store: Store, edition: int, item: Received, modalities: Modalities) -> None:
    """Record (or correct) a received document."""
    check_received(item, modalities)
    with store.unit_of_work() as uow:
        upsert(uow.connection, forum_documents,
               {"edition": edition, "document": item.document, "roundtable": item.roundtable},
               {"link": item.link, "received_on": item.received_on, "symbol": item.symbol,
                "recorded_at": now()})
        uow.commit()


def received(store: Store, edition: int) -> list[Received]:
    return [Received(document=r["document"], roundtable=r["roundtable"], link=r["link"],
                     received_on=r["received_on"], symbol=r["symbol"])
            for r in fetch(store, forum_documents, {"edition": edition})]


def statuses(calendar: EditionCalendar, modalities: Modalities, got: list[Received],
             as_of: dt.date) -> list[DocumentStatus]:
    """Every expected document with its due date and whether it is in, overdue or pending."""
    by_key = {(r.document, r.roundtable): r for r in got}
    result = []
    for spec in modalities.forum_documents:
        due = calendar.get(spec.due).first_day
        numbers = [rt.number for rt in modalities.roundtables] if spec.per_roundtable else [0]
        for number in numbers:
            item = by_key.get((spec.id, number))
            state: DocState = ("received" if item else "overdue" if due < as_of
                               else "pending")
            result.append(DocumentStatus(document=spec.id, title=spec.title,
                                         paragraph=spec.paragraph, roundtable=number, due=due,
                                         state=state, received=item))
    return result


def outstanding(all_statuses: list[DocumentStatus]) -> list[DocumentStatus]:
    """What to chase: documents not received, overdue first, then by due date."""
    missing = [s for s in all_statuses if s.state != "received"]
    return sorted(missing, key=lambda s: (s.state != "overdue", s.due, s.document,
                                          s.roundtable))


def chase_lines(missing: list[DocumentStatus], as_of: dt.date) -> list[str]:
    """One line per outstanding document: the text of a reminder or an escalation."""
    lines = []
    for status in missing:
        days = (status.due - as_of).days
        when = (f"overdue since {status.due} ({-days} days)" if status.state == "overdue"
                else f"due {status.due} (in {days} days)")
        lines.append(f"{status.label}: {when}")
    return lines
