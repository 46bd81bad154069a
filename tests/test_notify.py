"""One milestone's message to its audiences through the real sendgrid client and a local
SendGrid-compatible server: batched, exactly once, and honest about what is unknown."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from imrf.calendar import build_calendar
from imrf.contacts import ContactRegistry, ContactRow, SourceRow
from imrf.delivery.base import ChunkResult, DeliveryError
from imrf.delivery.message import DeliveryState, MessageBatch, MessageKey
from imrf.delivery.outbox import OutboxSender
from imrf.delivery.sendgrid_sender import SendGridSender
from imrf.devtools.fake_sendgrid import FakeSendGrid, Fault
from imrf.ledger import Ledger
from imrf.notify import Notifier
from imrf.store import Store
from imrf.vocabulary import Audience, MessageKind

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
    """One request at a time unless a test says otherwise: injected faults then meet the
    requests in a known order."""
    sender = SendGridSender(SecretStr(KEY), from_email="no-reply@imrf.example.org",
                            host=server.host, retry_ambiguous=False, sleep=lambda s: None)
    kwargs.setdefault("in_flight", 1)
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
        notifier(store, server, after_request=crash, in_flight=1).notify(
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


def test_a_crash_with_two_requests_in_flight_leaves_both_unknown(store: Store,
                                                                 server: FakeSendGrid) -> None:
    add_contacts(store, 2500)

    class Crash(Exception):
        pass

    def crash(chunk: MessageBatch) -> None:
        raise Crash

    with pytest.raises(Crash):
        notifier(store, server, after_request=crash, in_flight=2).notify(
            calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert server.request_count == 2  # the second request was out when the first answered
    resumed = notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                             kind=MessageKind.NOTICE)
    assert (resumed.sent, resumed.unknown) == (500, 2000)
    delivered = [d.email for d in server.delivered]
    assert len(delivered) == len(set(delivered)) == 2500


def test_in_flight_must_be_positive(store: Store, server: FakeSendGrid) -> None:
    with pytest.raises(ValueError, match="in_flight"):
        notifier(store, server, in_flight=0)


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


def _settle_by_hand(store: Store, outcomes: dict[str, str]) -> None:
    """Put the sg-report notice of the named delegates into the ledger states given
    ("sent", "failed", "retryable", "unknown"), as earlier runs would have left them."""
    ledger = Ledger(store)
    keys = {state: [MessageKey(edition=2030, milestone="sg-report", kind=MessageKind.NOTICE,
                               recipient=email) for email, s in outcomes.items() if s == state]
            for state in ("sent", "failed", "retryable", "unknown")}
    ledger.reserve([k for group in keys.values() for k in group])
    for state, group in keys.items():
        attempt = f"earlier-{state}"
        claimed = ledger.mark_in_flight(group, attempt)
        if state == "sent":
            ledger.mark_sent(claimed, "msg-earlier", attempt_id=attempt)
        elif state in ("failed", "retryable"):
            ledger.mark_failed(claimed, "550 no such mailbox", retryable=state == "retryable",
                               attempt_id=attempt)


def test_dry_run_reports_what_the_real_run_finds(store: Store, server: FakeSendGrid) -> None:
    add_contacts(store, 8)
    _settle_by_hand(store, {
        "delegate0@mission.example.int": "sent", "delegate1@mission.example.int": "sent",
        "delegate2@mission.example.int": "failed", "delegate3@mission.example.int": "failed",
        "delegate4@mission.example.int": "unknown",
        "delegate5@mission.example.int": "retryable",  # sendable again, like a new one
    })
    n = notifier(store, server)
    dry = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE,
                   dry_run=True)
    assert server.request_count == 0
    real = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (dry.already_sent, dry.failed, dry.unknown) == (2, 2, 1)
    assert (real.already_sent, real.failed, real.unknown) == (2, 2, 1)
    assert (dry.sent, real.sent) == (0, 3)
    assert sorted(server.delivered_emails) == [f"delegate{i}@mission.example.int"
                                               for i in (5, 6, 7)]


def test_a_delivery_error_mid_fan_out_carries_what_was_done(store: Store,
                                                            server: FakeSendGrid) -> None:
    add_contacts(store, 2500)
    # The first request goes through; the second is accepted but its answer is lost.
    server.inject(Fault.accept_then_hook(lambda _: None), Fault.accept_then_drop())
    handled: list[int] = []
    with pytest.raises(DeliveryError) as caught:
        notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                       kind=MessageKind.NOTICE,
                                       progress=lambda done, total: handled.append(done))
    summary = caught.value.summary
    assert summary is not None and caught.value.maybe_delivered
    assert (summary.recipients, summary.sent, summary.unknown, summary.requests) == (
        2500, 1000, 1000, 2)
    assert summary.errors == [str(caught.value)]
    assert handled == [1000]
    states = [e.state for e in Ledger(store).entries(edition=2030, milestone="sg-report")]
    assert (states.count(DeliveryState.SENT), states.count(DeliveryState.UNKNOWN),
            states.count(DeliveryState.PENDING)) == (1000, 1000, 500)


def test_an_answer_lost_with_two_requests_in_flight_records_the_other(
    store: Store, server: FakeSendGrid,
) -> None:
    add_contacts(store, 2500)
    # One of the first two requests (they race) loses its answer: the other one's answer,
    # and any request already out, are recorded before the error stops the fan-out.
    server.inject(Fault.accept_then_hook(lambda _: None), Fault.accept_then_drop())
    with pytest.raises(DeliveryError) as caught:
        notifier(store, server, in_flight=2).notify(calendar=CAL, milestone_id="sg-report",
                                                    kind=MessageKind.NOTICE)
    summary = caught.value.summary
    assert summary is not None and summary.unknown == 1000
    states = [e.state for e in Ledger(store).entries(edition=2030, milestone="sg-report")]
    assert states.count(DeliveryState.UNKNOWN) == 1000
    assert states.count(DeliveryState.SENT) == summary.sent >= 500
    assert len(states) == 2500 and set(states) <= {DeliveryState.SENT, DeliveryState.UNKNOWN,
                                                   DeliveryState.PENDING}
    resumed = notifier(store, server, in_flight=2).notify(
        calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (resumed.sent + summary.sent, resumed.unknown) == (1500, 1000)
    delivered = [d.email for d in server.delivered]
    assert len(delivered) == len(set(delivered)) == 2500


def test_two_requests_in_flight_send_everyone_once(store: Store, server: FakeSendGrid) -> None:
    add_contacts(store, 4500)
    n = notifier(store, server, in_flight=2)
    first = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (first.sent, first.requests, server.request_count) == (4500, 5, 5)
    delivered = [d.email for d in server.delivered]
    assert len(delivered) == len(set(delivered)) == 4500
    again = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (again.sent, again.already_sent, server.request_count) == (0, 4500, 5)


def test_a_refused_request_returns_its_rows_to_pending_and_says_so(store: Store) -> None:
    add_contacts(store, 3)
    with FakeSendGrid(api_keys=("SG.other",)) as server, \
            pytest.raises(DeliveryError) as caught:
        notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                       kind=MessageKind.NOTICE)
    summary = caught.value.summary
    assert summary is not None and not caught.value.maybe_delivered
    assert (summary.sent, summary.unknown, summary.requests) == (0, 0, 1)
    states = {e.state for e in Ledger(store).entries(edition=2030, milestone="sg-report")}
    assert states == {DeliveryState.PENDING}


class _RefuseOne(OutboxSender):
    """Writes every file but reports one address as refused (a partial chunk)."""

    def __init__(self, directory: Path, refused: str) -> None:
        super().__init__(directory, "no-reply@imrf.example.org")
        self.refused = refused

    def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
        result = super().send_chunk(chunk)
        states = {**result.states, self.refused: DeliveryState.FAILED}
        return result.model_copy(update={"states": states, "errors": ("550 refused",)})


def test_a_partly_refused_chunk_records_each_outcome(store: Store, tmp_path: Path) -> None:
    add_contacts(store, 4)
    refused = "delegate2@mission.example.int"
    n = Notifier(registry=ContactRegistry(store), ledger=Ledger(store),
                 sender=_RefuseOne(tmp_path / "outbox", refused))
    summary = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (summary.sent, summary.failed, summary.errors) == (3, 1, ["550 refused"])
    entries = {e.key.recipient: e for e in Ledger(store).entries(edition=2030)}
    assert entries[refused].state is DeliveryState.FAILED
    assert entries[refused].reason == "550 refused" and entries[refused].retryable is False
    assert {e.state for r, e in entries.items() if r != refused} == {DeliveryState.SENT}
    again = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert (again.sent, again.already_sent, again.failed) == (0, 3, 1)


def test_explicit_recipients_are_compared_lower_cased(store: Store,
                                                      server: FakeSendGrid) -> None:
    people = [ContactRow(email=email, name="Ana", organization="Mission",
                         audiences=(Audience.MEMBER_STATES,))
              for email in ("Ana@Mission.example.int", "ana@mission.example.int")]
    n = notifier(store, server)
    first = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE,
                     recipients=people)
    assert (first.recipients, first.sent) == (1, 1)
    again = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE,
                     recipients=people[:1])
    assert (again.sent, again.already_sent) == (0, 1)
    assert server.request_count == 1


class _Watching(OutboxSender):
    """Notes whether the cyclic garbage collector runs while a chunk is sent."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, "no-reply@imrf.example.org")
        self.collector_on: list[bool] = []

    def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
        self.collector_on.append(gc.isenabled())
        return super().send_chunk(chunk)


def test_the_collector_is_paused_during_a_fan_out_and_restored(store: Store,
                                                               tmp_path: Path) -> None:
    add_contacts(store, 2)
    sender = _Watching(tmp_path / "outbox")
    n = Notifier(registry=ContactRegistry(store), ledger=Ledger(store), sender=sender)
    assert gc.isenabled()
    n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert sender.collector_on == [False] and gc.isenabled()
    # Restored after an error too, and left off when someone else had turned it off.
    with pytest.raises(KeyError, match="unknown milestone"):
        n.notify(calendar=CAL, milestone_id="sg-reprot", kind=MessageKind.NOTICE)
    assert gc.isenabled()
    gc.disable()
    try:
        n.notify(calendar=CAL, milestone_id="hearing", kind=MessageKind.NOTICE)
        assert sender.collector_on == [False, False] and not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_fan_outs_share_one_pause(store: Store, tmp_path: Path) -> None:
    add_contacts(store, 3)
    inside, release = threading.Event(), threading.Event()

    class Slow(_Watching):
        def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
            inside.set()
            release.wait(10)
            return super().send_chunk(chunk)

    slow = Slow(tmp_path / "a")
    quick = _Watching(tmp_path / "b")
    thread = threading.Thread(target=lambda: Notifier(
        registry=ContactRegistry(store), ledger=Ledger(store), sender=slow,
    ).notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE))
    thread.start()
    try:
        assert inside.wait(10)
        Notifier(registry=ContactRegistry(store), ledger=Ledger(store), sender=quick).notify(
            calendar=CAL, milestone_id="hearing", kind=MessageKind.NOTICE)
        assert not gc.isenabled()  # the other fan-out is still running
    finally:
        release.set()
        thread.join(10)
    assert (slow.collector_on, quick.collector_on) == ([False], [False])
    assert gc.isenabled()


def test_reminder_without_days_before_touches_nothing(store: Store,
                                                       server: FakeSendGrid) -> None:
    add_contacts(store, 3)
    with pytest.raises(ValueError, match="needs days_before"):
        notifier(store, server).notify(calendar=CAL, milestone_id="sg-report",
                                       kind=MessageKind.REMINDER)
    assert Ledger(store).entries(edition=2030) == []


def test_chased_reminders_skip_whoever_is_done(store: Store, server: FakeSendGrid,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from imrf import chasing

    add_contacts(store, 3)
    done = {"delegate1@mission.example.int"}
    monkeypatch.setitem(chasing.CHASED, "sg-report", "tests.test_notify:_done_for_test")
    monkeypatch.setattr(chasing, "_function", lambda path: lambda s, edition: set(done))
    n = notifier(store, server)
    first = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.REMINDER,
                     days_before=7)
    assert first.sent == 2
    assert "delegate1@mission.example.int" not in {d.email for d in server.delivered}
    # A notice is not chased: everyone gets it.
    notice = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert notice.sent == 3
    # Someone done since the last reminder gets no further one.
    done.add("delegate2@mission.example.int")
    later = n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.REMINDER,
                     days_before=1)
    assert later.sent == 1


def test_a_chased_milestone_whose_area_is_missing_excludes_nobody() -> None:
    from imrf import chasing

    assert chasing._function("imrf.no_such_area.module:who") is None


def test_requests_in_flight_run_in_the_callers_context(store: Store,
                                                       server: FakeSendGrid) -> None:
    """So that what the sender logs (a 429 waited out) belongs to the caller's run."""
    import contextvars

    run: contextvars.ContextVar[str] = contextvars.ContextVar("run", default="none")
    add_contacts(store, 2500)
    n = notifier(store, server, in_flight=2)
    inner = n.sender
    seen: list[str] = []

    class Recording(SendGridSender):
        def chunks(self, batch: MessageBatch) -> list[MessageBatch]:
            return inner.chunks(batch)

        def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
            seen.append(run.get())
            return inner.send_chunk(chunk)

    n.sender = Recording(SecretStr(KEY), from_email="no-reply@imrf.example.org",
                         host=server.host)
    run.set("flow-run-42")
    n.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE)
    assert seen == ["flow-run-42"] * 3


def test_fan_outs_share_the_notifiers_sending_threads(store: Store,
                                                      server: FakeSendGrid) -> None:
    add_contacts(store, 2500)
    n = notifier(store, server, in_flight=2)
    used: set[threading.Thread] = set()
    original = n.sender.send_chunk

    def send_chunk(chunk: MessageBatch) -> ChunkResult:
        used.add(threading.current_thread())
        return original(chunk)

    n.sender.send_chunk = send_chunk  # type: ignore[method-assign]
    for kind, days in ((MessageKind.NOTICE, None), (MessageKind.REMINDER, 30),
                       (MessageKind.REMINDER, 7)):
        assert n.notify(calendar=CAL, milestone_id="sg-report", kind=kind,
                        days_before=days).sent == 2500
    # Nine requests, from the same two threads (no new ones per fan-out).
    assert server.request_count == 9
    assert len(used) == 2
    n.close()
    assert not any(thread.is_alive() for thread in used)
