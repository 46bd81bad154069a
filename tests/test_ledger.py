"""The message ledger: the notifier's protocol, crashes, concurrent claimers, the operator."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import imrf.ledger
from imrf.cli.main import app
from imrf.delivery.message import DeliveryState, MessageKey
from imrf.ledger import Ledger, Occasion, Reservation
from imrf.store import Store
from imrf.store.tables import ledger_events, messages
from imrf.vocabulary import MessageKind

NOTICE, REMINDER = MessageKind.NOTICE, MessageKind.REMINDER
SENT, PENDING, FAILED, UNKNOWN = (DeliveryState.SENT, DeliveryState.PENDING,
                                  DeliveryState.FAILED, DeliveryState.UNKNOWN)


@pytest.fixture
def ledger(store: Store) -> Ledger:
    return Ledger(store)


def keys(n: int, *, milestone: str = "sg-report", kind: MessageKind = NOTICE,
         edition: int = 2026) -> list[MessageKey]:
    return [MessageKey(edition=edition, milestone=milestone, kind=kind,
                       recipient=f"r{i:05d}@example.org") for i in range(n)]


def row_count(store: Store) -> int:
    with store.unit_of_work(read_only=True) as uow:
        return uow.connection.execute(select(func.count()).select_from(messages)).scalar_one()


def counts(reservation: Reservation) -> tuple[int, int, int, int]:
    r = reservation
    return len(r.sendable), len(r.sent), len(r.unknown), len(r.failed)


# --- reserve -------------------------------------------------------------------------------


def test_reserve_adds_pending_rows_once(ledger: Ledger, store: Store) -> None:
    batch = keys(50)
    first = ledger.reserve(batch)
    assert first.sendable == tuple(batch) and counts(first) == (50, 0, 0, 0)
    again = ledger.reserve(batch + batch[:10])  # repeated keys in one call, and a re-run
    assert again.sendable == tuple(batch)
    assert row_count(store) == 50


def test_recipients_are_compared_lower_cased(ledger: Ledger, store: Store) -> None:
    mixed = MessageKey(edition=2026, milestone="m", kind=NOTICE, recipient="Ana@Example.ORG")
    lower = mixed.model_copy(update={"recipient": "ana@example.org"})
    assert ledger.reserve([mixed]).sendable == (lower,)
    assert ledger.mark_in_flight([mixed], "a1") == [lower]
    assert ledger.mark_sent([mixed], "msg-1", attempt_id="a1") == 1
    assert ledger.reserve([lower]).sent == (lower,)
    assert row_count(store) == 1


def test_keys_of_several_milestones_and_kinds_in_one_call(ledger: Ledger) -> None:
    mixed = keys(3) + keys(3, kind=REMINDER) + keys(3, milestone="forum") + keys(3, edition=2030)
    assert ledger.reserve(mixed).sendable == tuple(mixed)
    claimed = ledger.mark_in_flight(mixed[:6], "a1")
    assert claimed == mixed[:6]
    ledger.mark_sent(claimed[:3], "x", attempt_id="a1")
    reservation = ledger.reserve(mixed)
    assert reservation.sent == tuple(mixed[:3])
    assert reservation.unknown == tuple(mixed[3:6])
    assert reservation.sendable == tuple(mixed[6:])


# --- the protocol --------------------------------------------------------------------------


def test_what_is_sent_is_never_sendable_again(ledger: Ledger) -> None:
    batch = keys(10)
    ledger.reserve(batch)
    claimed = ledger.mark_in_flight(batch, "a1")
    assert claimed == batch
    assert ledger.mark_sent(claimed, "sg-msg-1", attempt_id="a1") == 10
    # A retry, a re-run, a manual re-trigger:
    assert counts(ledger.reserve(batch)) == (0, 10, 0, 0)
    assert ledger.mark_in_flight(batch, "a2") == []
    entry = ledger.entries(edition=2026)[0]
    assert (entry.state, entry.message_id, entry.attempts) == (SENT, "sg-msg-1", 1)
    assert entry.sent_at is not None and entry.sent_at.tzinfo is not None


def test_a_crash_after_the_claim_leaves_the_batch_unknown(ledger: Ledger, url: str) -> None:
    batch = keys(20)
    ledger.reserve(batch)
    ledger.mark_in_flight(batch[:10], "attempt-before-crash")
    # The process dies here: the provider may or may not have accepted the request.
    restarted = Store(url)
    try:
        after = Ledger(restarted)
        reservation = after.reserve(batch)
        assert reservation.unknown == tuple(batch[:10])
        assert reservation.sendable == tuple(batch[10:])
        assert after.mark_in_flight(batch, "attempt-after-restart") == batch[10:]
    finally:
        restarted.dispose()


def test_a_crash_mid_fan_out_resumes_with_exactly_the_unsent(ledger: Ledger) -> None:
    batch = keys(300)
    chunks = [batch[:100], batch[100:200], batch[200:]]
    ledger.reserve(batch)
    done = ledger.mark_in_flight(chunks[0], "a1")
    ledger.mark_sent(done, "m1", attempt_id="a1")
    ledger.mark_in_flight(chunks[1], "a2")  # crash while the second request is out
    resumed = ledger.reserve(batch)
    assert resumed.sendable == tuple(chunks[2])
    assert resumed.sent == tuple(chunks[0]) and resumed.unknown == tuple(chunks[1])


def test_failures_retryable_and_permanent(ledger: Ledger) -> None:
    batch = keys(6)
    ledger.reserve(batch)
    claimed = ledger.mark_in_flight(batch, "a1")
    assert ledger.mark_failed(claimed[:2], "429 rate limited", retryable=True,
                              attempt_id="a1") == 2
    assert ledger.mark_failed(claimed[2:4], "400 invalid address", retryable=False,
                              attempt_id="a1") == 2
    assert ledger.mark_pending(claimed[4:], attempt_id="a1") == 2
    reservation = ledger.reserve(batch)
    assert reservation.sendable == (batch[0], batch[1], batch[4], batch[5])
    assert reservation.failed == (batch[2], batch[3])
    assert ledger.mark_in_flight(batch, "a2") == [batch[0], batch[1], batch[4], batch[5]]
    failed = ledger.entries(edition=2026, state=FAILED)
    assert {e.reason for e in failed} == {"400 invalid address"}
    assert all(e.retryable is False for e in failed)


def test_a_partial_claim_returns_exactly_the_rows_it_moved(ledger: Ledger) -> None:
    # A claim counts the rows it moved; when some were not sendable it reads back its own.
    wanted = addresses(6)
    ledger.reserve_recipients(OCCASION, wanted)
    assert ledger.claim(OCCASION, wanted[:2], "other") == wanted[:2]  # still in flight
    ledger.claim(OCCASION, wanted[2:3], "done")
    ledger.mark_sent(None, "m", attempt_id="done")
    assert ledger.claim(OCCASION, [*wanted, addresses(7)[-1]], "mine") == wanted[3:]
    assert ledger.claim(OCCASION, wanted, "late") == []


def test_outcomes_only_move_rows_still_in_flight_under_the_same_attempt(ledger: Ledger) -> None:
    batch = keys(4)
    ledger.reserve(batch)
    ledger.mark_in_flight(batch, "a1")
    assert ledger.mark_sent(batch, "m", attempt_id="someone-else") == 0
    assert ledger.mark_pending(batch[:2], attempt_id="a1") == 2
    # A late answer for rows no longer in flight changes nothing.
    assert ledger.mark_sent(batch[:2], "late", attempt_id="a1") == 0
    assert ledger.mark_failed(batch[:2], "late", retryable=False, attempt_id="a1") == 0
    assert counts(ledger.reserve(batch)) == (2, 0, 2, 0)


def test_attempt_ids_are_checked(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="attempt id"):
        ledger.mark_in_flight(keys(1), "")
    with pytest.raises(ValueError, match="attempt id"):
        ledger.mark_sent(keys(1), "m", attempt_id="x" * 65)


def test_two_concurrent_claimers_never_claim_the_same_row(ledger: Ledger, url: str) -> None:
    batch = keys(2000)
    ledger.reserve(batch)
    barrier = threading.Barrier(2)
    claimed: dict[str, list[MessageKey]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def notifier(name: str, seed: int) -> None:
        store = Store(url)  # each notifier has its own engine, as a separate process would
        try:
            mine = Ledger(store)
            order = batch[:]
            random.Random(seed).shuffle(order)
            barrier.wait()
            for start in range(0, len(order), 100):
                chunk = order[start:start + 100]
                got = mine.mark_in_flight(chunk, f"{name}-{start}")
                claimed[name].extend(got)
                mine.mark_sent(got, f"{name}-msg", attempt_id=f"{name}-{start}")
        except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=notifier, args=(n, s)) for n, s in (("a", 1), ("b", 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    a, b = set(claimed["a"]), set(claimed["b"])
    assert len(a) == len(claimed["a"]) and len(b) == len(claimed["b"])
    assert a.isdisjoint(b)
    assert a | b == set(batch)
    assert counts(ledger.reserve(batch)) == (0, 2000, 0, 0)


def test_concurrent_reserves_of_the_same_keys(ledger: Ledger, store: Store, url: str) -> None:
    batch = keys(500)
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def reserve() -> None:
        other = Store(url)
        try:
            barrier.wait()
            Ledger(other).reserve(batch)
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.dispose()

    threads = [threading.Thread(target=reserve) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert row_count(store) == 500


# --- one occasion, plain addresses (the notifier's fan-out) -------------------------------

OCCASION = Occasion(2026, "sg-report", NOTICE)


def addresses(n: int, start: int = 0) -> list[str]:
    return [f"r{i:05d}@example.org" for i in range(start, start + n)]


def test_reserve_recipients_lower_cases_dedupes_and_keeps_the_order(
    ledger: Ledger, store: Store
) -> None:
    first = ledger.reserve_recipients(OCCASION, ["B@Example.org", "a@example.org",
                                                 "b@example.org"])
    assert first.sendable == ("b@example.org", "a@example.org")
    assert (first.sent, first.unknown, first.failed) == ((), (), ())
    assert row_count(store) == 2
    # The same rows as the keys' methods see them.
    key = OCCASION.key("a@example.org")
    assert ledger.reserve([key]).sendable == (key,)
    assert row_count(store) == 2


def test_a_large_fan_out_sees_only_its_own_recipients(ledger: Ledger, store: Store) -> None:
    # Beyond a thousand recipients the whole occasion is read at once: rows of other
    # recipients (e.g. who left the audience since) must not leak into the answer.
    earlier = addresses(1500)
    ledger.reserve_recipients(OCCASION, earlier)
    claimed = ledger.claim(OCCASION, earlier[:400], "a1")
    ledger.mark_sent(None, "m1", attempt_id="a1")
    ledger.claim(OCCASION, earlier[400:500], "a2")  # left unknown
    ledger.claim(OCCASION, earlier[500:600], "a3")
    ledger.mark_failed(None, "550", retryable=False, attempt_id="a3")
    assert len(claimed) == 400
    wanted = earlier[300:1300] + addresses(300, start=5000)  # 1,300: 1,000 known, 300 new
    reservation = ledger.reserve_recipients(OCCASION, wanted)
    assert reservation.sent == tuple(earlier[300:400])
    assert reservation.unknown == tuple(earlier[400:500])
    assert reservation.failed == tuple(earlier[500:600])
    assert reservation.sendable == tuple(earlier[600:1300] + addresses(300, start=5000))
    assert row_count(store) == 1800
    # A second look (the re-run's fast path: nothing missing) answers the same.
    assert ledger.reserve_recipients(OCCASION, wanted) == reservation
    assert row_count(store) == 1800


def test_preview_answers_like_reserve_and_writes_nothing(ledger: Ledger, store: Store) -> None:
    ledger.reserve_recipients(OCCASION, addresses(3))
    ledger.claim(OCCASION, addresses(1), "a1")
    ledger.mark_sent(None, "m", attempt_id="a1")
    for wanted in (addresses(5), addresses(1200)):
        preview = ledger.preview(OCCASION, wanted)
        assert preview.sent == (addresses(1)[0],)
        assert preview.sendable == tuple(wanted[1:])
        assert row_count(store) == 3
    assert ledger.reserve_recipients(OCCASION, addresses(5)) == ledger.preview(OCCASION,
                                                                               addresses(5))


def test_a_reserve_that_raced_another_reports_the_rows_as_they_now_are(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = addresses(5)
    ledger.reserve_recipients(OCCASION, wanted)
    ledger.claim(OCCASION, wanted[:2], "other")
    ledger.mark_sent(None, "m", attempt_id="other")
    # As if another notifier added (and sent) the rows between this reserve's read and its
    # insert: the read finds nothing, the insert adds nothing.
    real_states = imrf.ledger._states
    reads: list[int] = []

    def late_states(conn: Any, occasion: Occasion, recipients: Any) -> Any:
        reads.append(len(recipients))
        return {} if len(reads) == 1 else real_states(conn, occasion, recipients)

    monkeypatch.setattr(imrf.ledger, "_states", late_states)
    reservation = ledger.reserve_recipients(OCCASION, wanted)
    assert reads == [5, 5]
    assert reservation.sent == tuple(wanted[:2]) and reservation.sendable == tuple(wanted[2:])


def test_claim_then_settle_the_whole_attempt(ledger: Ledger) -> None:
    wanted = addresses(6)
    ledger.reserve_recipients(OCCASION, wanted)
    assert ledger.claim(OCCASION, [w.upper() for w in wanted[:3]], "a1") == wanted[:3]
    assert ledger.claim(OCCASION, wanted, "a2") == wanted[3:]  # a1's rows are taken
    assert ledger.claim(OCCASION, wanted, "a3") == []
    # None: every row the attempt holds, and only those.
    assert ledger.mark_sent(None, "m1", attempt_id="a1") == 3
    assert ledger.mark_sent(None, "late", attempt_id="a1") == 0
    assert ledger.mark_pending(None, attempt_id="a2") == 3
    assert counts(ledger.reserve(keys(6))) == (3, 3, 0, 0)
    assert ledger.claim(OCCASION, wanted, "a4") == wanted[3:]
    assert ledger.mark_failed(None, "400 invalid", retryable=False, attempt_id="a4") == 3
    reservation = ledger.reserve_recipients(OCCASION, wanted)
    assert (reservation.sent, reservation.failed) == (tuple(wanted[:3]), tuple(wanted[3:]))
    entry = next(e for e in ledger.entries(edition=2026) if e.key.recipient == wanted[0])
    assert (entry.state, entry.message_id, entry.attempt) == (SENT, "m1", "a1")
    with pytest.raises(ValueError, match="attempt id"):
        ledger.claim(OCCASION, wanted, "")
    with pytest.raises(ValueError, match="attempt id"):
        ledger.mark_pending(None, attempt_id="")


def test_two_concurrent_fan_outs_never_claim_the_same_recipient(
    ledger: Ledger, url: str
) -> None:
    wanted = addresses(2000)
    barrier = threading.Barrier(2)
    claimed: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def fan_out(name: str, seed: int) -> None:
        store = Store(url)
        try:
            mine = Ledger(store)
            order = wanted[:]
            random.Random(seed).shuffle(order)
            barrier.wait()
            mine.reserve_recipients(OCCASION, order)
            for start in range(0, len(order), 250):
                attempt = f"{name}-{start}"
                got = mine.claim(OCCASION, order[start:start + 250], attempt)
                claimed[name].extend(got)
                assert mine.mark_sent(None, f"{name}-msg", attempt_id=attempt) == len(got)
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=fan_out, args=(n, s)) for n, s in (("a", 3), ("b", 4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    a, b = set(claimed["a"]), set(claimed["b"])
    assert a.isdisjoint(b) and a | b == set(wanted)
    assert len(ledger.reserve_recipients(OCCASION, wanted).sent) == 2000


def test_concurrent_reserves_in_opposite_orders(ledger: Ledger, store: Store, url: str) -> None:
    # Two notifiers adding the same rows in different orders must not deadlock.
    wanted = addresses(3000)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def reserve(order: list[str]) -> None:
        other = Store(url)
        try:
            barrier.wait()
            assert len(Ledger(other).reserve_recipients(OCCASION, order).sendable) == 3000
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.dispose()

    threads = [threading.Thread(target=reserve, args=(order,))
               for order in (wanted, wanted[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert row_count(store) == 3000


# --- reading -------------------------------------------------------------------------------


def test_summary_counts_by_edition_milestone_kind_and_state(ledger: Ledger) -> None:
    ledger.reserve(keys(5) + keys(2, kind=REMINDER) + keys(1, edition=2030))
    got = ledger.mark_in_flight(keys(3), "a1")
    ledger.mark_sent(got[:2], "m", attempt_id="a1")
    rows = [(r.edition, r.milestone, r.kind, r.state, r.count) for r in ledger.summary()]
    assert rows == [
        (2026, "sg-report", NOTICE, PENDING, 2),
        (2026, "sg-report", NOTICE, SENT, 2),
        (2026, "sg-report", NOTICE, UNKNOWN, 1),
        (2026, "sg-report", REMINDER, PENDING, 2),
        (2030, "sg-report", NOTICE, PENDING, 1),
    ]
    assert [r.edition for r in ledger.summary(2030)] == [2030]
    assert ledger.summary(1999) == []


# --- the operator --------------------------------------------------------------------------


def _unknown_batch(ledger: Ledger, n: int = 4) -> list[MessageKey]:
    batch = keys(n)
    ledger.reserve(batch)
    ledger.mark_in_flight(batch, "crashed")
    return batch


def test_resolve_as_sent_records_who_when_and_why(ledger: Ledger) -> None:
    batch = _unknown_batch(ledger)
    result = ledger.resolve(edition=2026, milestone="sg-report", kind=NOTICE, as_state=SENT,
                            reason="Activity feed shows delivered", actor="ops-amina")
    assert (result.resolved, result.skipped) == (4, {})
    assert counts(ledger.reserve(batch)) == (0, 4, 0, 0)
    events = ledger.events(edition=2026)
    assert len(events) == 4
    event = events[0]
    assert (event.actor, event.action, event.from_state, event.to_state, event.attempt) == (
        "ops-amina", "resolve", UNKNOWN, SENT, "crashed")
    assert event.reason == "Activity feed shows delivered" and event.at.tzinfo is not None
    assert {e.key for e in events} == set(batch)


def test_resolve_for_resend_makes_rows_sendable_again(ledger: Ledger) -> None:
    batch = _unknown_batch(ledger)
    result = ledger.resolve(edition=2026, milestone="sg-report", kind=NOTICE, as_state=PENDING,
                            reason="not in the activity feed", actor="ops",
                            recipients=[batch[0].recipient.upper()])
    assert result.resolved == 1
    reservation = ledger.reserve(batch)
    assert reservation.sendable == (batch[0],) and len(reservation.unknown) == 3
    # The old attempt's late answer cannot overwrite the operator's decision.
    assert ledger.mark_sent(batch[:1], "late", attempt_id="crashed") == 0


def test_resolve_never_touches_sent_rows_and_names_what_it_skipped(ledger: Ledger) -> None:
    batch = keys(3)
    ledger.reserve(batch)
    ledger.mark_in_flight(batch, "a1")
    ledger.mark_sent(batch[:1], "m", attempt_id="a1")
    ledger.mark_failed(batch[1:2], "550 mailbox unavailable", retryable=False, attempt_id="a1")
    result = ledger.resolve(
        edition=2026, milestone="sg-report", kind=NOTICE, as_state=PENDING, reason="retry",
        actor="ops", recipients=[k.recipient for k in batch] + ["nobody@example.org"],
    )
    assert result.resolved == 2  # the failed one (named) and the unknown one
    assert result.skipped == {batch[0].recipient: "sent", "nobody@example.org": "absent"}
    assert counts(ledger.reserve(batch)) == (2, 1, 0, 0)


def test_resolve_without_recipients_settles_only_unknown_rows(ledger: Ledger) -> None:
    batch = keys(2)
    ledger.reserve(batch)
    ledger.mark_in_flight(batch, "a1")
    ledger.mark_failed(batch[:1], "400", retryable=False, attempt_id="a1")
    result = ledger.resolve(edition=2026, milestone="sg-report", kind=NOTICE, as_state=SENT,
                            reason="confirmed", actor="ops")
    assert result.resolved == 1
    reservation = ledger.reserve(batch)
    assert reservation.failed == (batch[0],) and reservation.sent == (batch[1],)


@pytest.mark.parametrize(
    ("as_state", "reason", "actor", "message"),
    [(FAILED, "r", "a", "sent or pending"), (SENT, "  ", "a", "needs a reason"),
     (SENT, "r", "", "who made it")],
)
def test_resolve_checks_its_arguments(
    ledger: Ledger, as_state: DeliveryState, reason: str, actor: str, message: str
) -> None:
    _unknown_batch(ledger, 1)
    with pytest.raises(ValueError, match=message):
        ledger.resolve(edition=2026, milestone="sg-report", kind=NOTICE, as_state=as_state,
                       reason=reason, actor=actor)
    assert ledger.events() == []


def test_audit_rows_are_stored_in_ledger_events(ledger: Ledger, store: Store) -> None:
    _unknown_batch(ledger, 2)
    ledger.resolve(edition=2026, milestone="sg-report", kind=NOTICE, as_state=SENT,
                   reason="ok", actor="ops")
    with store.unit_of_work(read_only=True) as uow:
        actors = uow.connection.execute(select(ledger_events.c.actor)).scalars().all()
    assert actors == ["ops", "ops"]


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    return {"IMRF_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "IMRF_CONFIG_DIR": str(config), "IMRF_DATA_DIR": str(tmp_path / "data")}


def test_cli_summary_show_and_resolve(cli_env: dict[str, str]) -> None:
    store = Store(cli_env["IMRF_DATABASE_URL"])
    try:
        _unknown_batch(Ledger(store), 3)
    finally:
        store.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["ledger", "--format", "json"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"edition": 2026, "milestone": "sg-report",
                                          "kind": "notice", "state": "unknown", "count": 3}]
    result = runner.invoke(app, ["ledger", "--edition", "2026"], env=cli_env)
    assert result.exit_code == 0 and "unknown" in result.stdout

    result = runner.invoke(app, ["ledger", "show", "--edition", "2026", "--state", "unknown",
                                 "--format", "json"], env=cli_env)
    assert result.exit_code == 0
    assert [e["key"]["recipient"] for e in json.loads(result.stdout)] == [
        "r00000@example.org", "r00001@example.org", "r00002@example.org"]
    result = runner.invoke(app, ["ledger", "show", "--edition", "2026", "--state", "lost"],
                           env=cli_env)
    assert result.exit_code == 2 and "--state: 'lost' is not one of" in result.stderr

    result = runner.invoke(app, [
        "ledger", "resolve", "--edition", "2026", "--milestone", "sg-report", "--kind",
        "notice", "--recipient", "r00000@example.org", "--as", "resend", "--reason",
        "bounced before acceptance", "--by", "ops-cli"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "resolved 1 message(s) of 2026/sg-report/notice as pending" in result.stdout
    result = runner.invoke(app, [
        "ledger", "resolve", "--edition", "2026", "--milestone", "sg-report", "--kind",
        "notice", "--as", "sent", "--reason", "delivered per activity feed"], env=cli_env)
    assert result.exit_code == 0 and "resolved 2 message(s)" in result.stdout
    result = runner.invoke(app, [
        "ledger", "resolve", "--edition", "2026", "--milestone", "sg-report", "--kind",
        "notice", "--recipient", "r00001@example.org", "--as", "resend", "--reason", "again"],
        env=cli_env)
    assert result.exit_code == 1 and "skipped r00001@example.org: sent" in result.stderr

    result = runner.invoke(app, ["ledger", "resolve", "--edition", "2026", "--milestone",
                                 "sg-report", "--kind", "notice", "--as", "sent",
                                 "--reason", " "], env=cli_env)
    assert result.exit_code == 2 and "needs a reason" in result.stderr

    store = Store(cli_env["IMRF_DATABASE_URL"])
    try:
        events = Ledger(store).events()
    finally:
        store.dispose()
    assert (events[0].actor, events[0].to_state) == ("ops-cli", PENDING)
    assert len(events) == 3


def test_settled_names_only_occasions_with_rows_and_nothing_left_to_send(store: Store) -> None:
    ledger = Ledger(store)
    done = Occasion(2030, "sg-report@7d", MessageKind.REMINDER)
    half = Occasion(2030, "sg-report@1d", MessageKind.REMINDER)
    empty = Occasion(2030, "hearing@7d", MessageKind.REMINDER)
    ledger.reserve_recipients(done, ["a@x.org", "b@x.org"])
    ledger.reserve_recipients(half, ["a@x.org", "b@x.org"])
    for occ, who in ((done, ["a@x.org", "b@x.org"]), (half, ["a@x.org"])):
        claimed = ledger.claim(occ, who, "attempt-1" + occ.milestone[-2:])
        ledger.mark_sent([occ.key(r) for r in claimed], "msg",
                         attempt_id="attempt-1" + occ.milestone[-2:])
    assert ledger.settled([done, half, empty, done]) == {done}
