"""One milestone's message to its audiences through the real sendgrid client and a local
SendGrid-compatible server: batched, exactly once, and honest about what is unknown."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from imrf.calendar import build_calendar
from imrf.contacts import ContactRegistry, SourceRow
from imrf.delivery.base import DeliveryError
from imrf.delivery.message import DeliveryState, MessageBatch
from imrf.delivery.outbox import OutboxSender
from imrf.delivery.sendgrid_sender import SendGridSender
from imrf.devtools.fake_sendgrid import FakeSendGrid, Fault
from imrf.ledger import Ledger
from imrf.notify import Notifier
from imrf.store import Store
from imrf.vocabulary import MessageKind

CAL = build_calendar(2030)
KEY = "SG.test-key"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'imrf.db'}")
    store.ensure_schema()
    yield store
    store.dispose()


@pytest.fixture
def server() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_keys=(KEY,)) as fake:
        yield fake


def add_contacts(store: Store, count: int, audience: str = "member-states") -> None:
    rows = [SourceRow(line=i + 2, values={"email": f"delegate{i}@mission.example.int",
                                          "name": f"Delegate {i}", "organization": "Mission",
                                          "audiences": audience})
            for i in range(count)]
    report = ContactRegistry(store).import_rows(rows)
    assert not report.errors


def notifier(store: Store, server: FakeSendGrid, **kwargs: object) -> Notifier:
    sender = SendGridSender(SecretStr(KEY), from_email="no-reply@imrf.example.org",
                            host=server.host, retry_ambiguous=False, sleep=lambda s: None)
    return Notifier(registry=ContactRegistry(store), ledger=Ledger(store), sender=sender,
                    **kwargs)  # type: ignore[arg-type]


def test_batched_once_and_never_again(store: Store, server: FakeSendGrid) -> None:
    add_contacts(store, 2500)
    n = notifier(store, server)
    first = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (first.sent, first.already_sent, first.failed, first.unknown) == (2500, 0, 0, 0)
    assert first.requests == 3 == server.request_count
    emails = [d.email for d in server.delivered]
    assert len(emails) == len(set(emails)) == 2500
    again = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (again.sent, again.already_sent, again.requests) == (0, 2500, 0)
    assert server.request_count == 3


def test_each_reminder_offset_is_its_own_message(store: Store, server: FakeSendGrid) -> None:
    add_contacts(store, 3)
    n = notifier(store, server)
    for days in (30, 7, 7):
        n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.REMINDER,
                 days_before=days)
    assert len(server.delivered) == 6
    subjects = {d.subject for d in server.delivered}
    assert any("7 days" in s for s in subjects) and any("30 days" in s for s in subjects)


def test_only_the_milestones_audiences(store: Store, server: FakeSendGrid) -> None:
    add_contacts(store, 5, "member-states")
    ContactRegistry(store).import_rows([SourceRow(line=2, values={
        "email": "ngo@example.org", "name": "NGO", "organization": "NGO",
        "audiences": "ecosoc-ngos"})])
    summary = notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                             kind=MessageKind.NOTICE)
    assert summary.sent == 5 and "ngo@example.org" not in server.delivered_emails


def test_crash_between_acceptance_and_record_leaves_unknown(store: Store,
                                                            server: FakeSendGrid) -> None:
    add_contacts(store, 1500)

    class Crash(Exception):
        pass

    def crash(chunk: MessageBatch) -> None:
        raise Crash

    with pytest.raises(Crash):
        notifier(store, server, after_request=crash).notify(
            calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert server.request_count == 1  # the first chunk of 1,000 went out
    resumed = notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                             kind=MessageKind.NOTICE)
    # The accepted-but-unrecorded chunk is not re-sent: it waits for an operator.
    assert (resumed.sent, resumed.unknown) == (500, 1000)
    delivered = [d.email for d in server.delivered]
    assert len(delivered) == len(set(delivered)) == 1500
    states = {e.state for e in Ledger(store).entries(edition=2030, milestone="sg-report")}
    assert states == {DeliveryState.SENT, DeliveryState.UNKNOWN}


def test_dropped_connection_after_acceptance_is_not_resent(store: Store,
                                                          server: FakeSendGrid) -> None:
    add_contacts(store, 10)
    server.inject(Fault.accept_then_drop())
    with pytest.raises(DeliveryError):
        notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                       kind=MessageKind.NOTICE)
    again = notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                           kind=MessageKind.NOTICE)
    assert again.sent == 0 and again.unknown == 10
    assert len(server.delivered) == 10


def test_rate_limit_and_server_errors_are_waited_out(store: Store,
                                                     server: FakeSendGrid) -> None:
    add_contacts(store, 1200)
    server.inject(Fault.rate_limited(reset_in=0.01), Fault.server_error(500),
                  Fault.server_error(503))
    summary = notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                             kind=MessageKind.NOTICE)
    assert summary.sent == 1200 and summary.failed == 0
    assert len({d.email for d in server.delivered}) == 1200


def test_bad_key_stops_at_once_and_keeps_rows_pending(store: Store) -> None:
    add_contacts(store, 5)
    with (FakeSendGrid(api_keys=("SG.other",)) as server,
          pytest.raises(DeliveryError, match="API key") as caught):
        notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                       kind=MessageKind.NOTICE)
    assert KEY not in str(caught.value)
    states = {e.state for e in Ledger(store).entries(edition=2030, milestone="sg-report")}
    assert states == {DeliveryState.PENDING}


def test_two_notifiers_at_once_send_each_message_once(store: Store,
                                                      server: FakeSendGrid) -> None:
    add_contacts(store, 3000)
    results = []

    def run() -> None:
        results.append(notifier(store, server).notify(
            calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delivered = [d.email for d in server.delivered]
    assert len(delivered) == len(set(delivered)) == 3000
    assert sum(r.sent for r in results) == 3000


def test_dry_run_writes_nothing(store: Store, server: FakeSendGrid) -> None:
    add_contacts(store, 4)
    summary = notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                             kind=MessageKind.NOTICE, dry_run=True)
    assert summary.recipients == 4 and summary.sent == 0 and server.request_count == 0
    assert Ledger(store).entries(edition=2030) == []


def test_outbox_writes_one_eml_per_recipient(store: Store, tmp_path: Path) -> None:
    import email
    from email import policy

    add_contacts(store, 3)
    outbox = tmp_path / "outbox"
    n = Notifier(registry=ContactRegistry(store), ledger=Ledger(store),
                 sender=OutboxSender(outbox, "no-reply@imrf.example.org"))
    summary = n.notify(calendar=CAL, milestone_id="hearing", kind=MessageKind.NOTICE)
    files = sorted(outbox.glob("*.eml"))
    assert summary.sent == 3 and len(files) == 3
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert "Delegate" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert any(part.get_content_type() == "text/calendar" for part in message.walk())
