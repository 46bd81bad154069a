"""`imrf notify` as an operator runs it: SendGrid (a local fake) or the outbox, exactly once,
and one-line errors that never show the API key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from imrf.cli.main import app
from imrf.contacts import ContactRegistry, SourceRow
from imrf.delivery.message import MessageKey
from imrf.devtools.fake_sendgrid import FakeSendGrid, Fault
from imrf.ledger import Ledger
from imrf.settings import load_settings
from imrf.store import open_store
from imrf.vocabulary import MessageKind

KEY = "SG.cli-test-key-7f3a"
SUMMARY_KEYS = {"sent", "already_sent", "failed", "unknown", "requests"}


@pytest.fixture
def data_dir(cli_data_dir: Path) -> Path:
    return cli_data_dir


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_keys=(KEY,)) as server:
        monkeypatch.setenv("SENDGRID_API_KEY", KEY)
        monkeypatch.setenv("IMRF_SENDGRID_HOST", server.host)
        yield server


def add_contacts(count: int, audience: str = "member-states", prefix: str = "delegate") -> None:
    store = open_store(load_settings())
    try:
        rows = [SourceRow(line=i + 2, values={"email": f"{prefix}{i}@mission.example.int",
                                              "name": f"Delegate {i}", "organization": "Mission",
                                              "audiences": audience})
                for i in range(count)]
        assert not ContactRegistry(store).import_rows(rows).errors
    finally:
        store.dispose()


def ledger_states(milestone: str) -> dict[str, str]:
    store = open_store(load_settings())
    try:
        return {e.key.recipient: e.state.value
                for e in Ledger(store).entries(edition=2030, milestone=milestone)}
    finally:
        store.dispose()


def notify(*args: str) -> Result:
    return CliRunner().invoke(app, ["notify", "--edition", "2030", *args])


def as_json(result: Result) -> dict[str, object]:
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def one_line_error(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("imrf: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    return result.stderr


# --- sending ------------------------------------------------------------------------------


def test_sendgrid_notice_batched_then_already_sent(fake: FakeSendGrid) -> None:
    add_contacts(1500)
    first = as_json(notify("--milestone", "sg-report", "--kind", "notice", "--format", "json"))
    assert {k: first[k] for k in SUMMARY_KEYS} == {
        "sent": 1500, "already_sent": 0, "failed": 0, "unknown": 0, "requests": 2}
    assert first["edition"] == 2030 and first["milestone"] == "sg-report"
    assert first["kind"] == "notice" and first["recipients"] == 1500 and not first["dry_run"]
    assert fake.request_count == 2
    delivered = fake.delivered_emails
    assert len(delivered) == len(set(delivered)) == 1500
    # Delegates get the notice, not the operators' link into the orchestrator.
    message = fake.delivered[0]
    assert message.text is not None
    assert "orchestrator" not in message.text and "127.0.0.1" not in message.text

    again = as_json(notify("--milestone", "sg-report", "--kind", "notice", "--format", "json"))
    assert {k: again[k] for k in SUMMARY_KEYS} == {
        "sent": 0, "already_sent": 1500, "failed": 0, "unknown": 0, "requests": 0}
    assert fake.request_count == 2


def test_table_output_names_the_counts_and_the_sender(fake: FakeSendGrid) -> None:
    add_contacts(3)
    result = notify("--milestone", "sg-report", "--kind", "notice")
    assert result.exit_code == 0, result.output
    assert "3 recipient(s): 3 sent, 0 already sent, 0 failed, 0 unknown" in result.stdout
    assert f"SendGrid at {fake.host}" in result.stdout and KEY not in result.output


def test_outbox_without_a_key_writes_eml_files(data_dir: Path) -> None:
    add_contacts(4)
    first = as_json(notify("--milestone", "hearing", "--kind", "notice", "--format", "json"))
    assert (first["sent"], first["requests"]) == (4, 1)
    files = sorted((data_dir / "outbox").glob("*.eml"))
    assert len(files) == 4
    assert all(b"Delegate" in f.read_bytes() and b"To:" in f.read_bytes() for f in files)
    again = as_json(notify("--milestone", "hearing", "--kind", "notice", "--format", "json"))
    assert (again["sent"], again["already_sent"]) == (0, 4)
    assert len(list((data_dir / "outbox").glob("*.eml"))) == 4


def test_settings_are_read_afresh_on_every_invocation(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_contacts(2)
    as_json(notify("--milestone", "sg-report", "--kind", "notice", "--format", "json"))
    assert len(list((data_dir / "outbox").glob("*.eml"))) == 2
    with FakeSendGrid(api_keys=(KEY,)) as server:
        monkeypatch.setenv("SENDGRID_API_KEY", KEY)
        monkeypatch.setenv("IMRF_SENDGRID_HOST", server.host)
        result = as_json(notify("--milestone", "hearing", "--kind", "notice",
                                "--format", "json"))
        assert result["sent"] == 2 and server.request_count == 1
    assert "SendGrid" in str(result["sender"])


def test_reminder_needs_days_before_and_each_offset_is_its_own_message(
    fake: FakeSendGrid,
) -> None:
    add_contacts(3)
    error = one_line_error(notify("--milestone", "sg-report", "--kind", "reminder"))
    assert "--days-before" in error and "30, 7, 1" in error
    assert fake.request_count == 0 and ledger_states("sg-report@7d") == {}
    for days in ("7", "30", "7"):
        result = notify("--milestone", "sg-report", "--kind", "reminder", "--days-before", days)
        assert result.exit_code == 0, result.output
    assert fake.request_count == 2 and len(fake.delivered) == 6
    assert set(ledger_states("sg-report@7d").values()) == {"sent"}
    assert set(ledger_states("sg-report@30d").values()) == {"sent"}


def test_only_the_chosen_audience(fake: FakeSendGrid) -> None:
    add_contacts(5, "member-states")
    add_contacts(2, "operators", prefix="operator")
    summary = as_json(notify("--milestone", "sg-report", "--kind", "notice",
                             "--audience", "operators", "--format", "json"))
    assert summary["sent"] == 2
    assert sorted(fake.delivered_emails) == ["operator0@mission.example.int",
                                             "operator1@mission.example.int"]


def test_dry_run_sends_and_records_nothing(fake: FakeSendGrid) -> None:
    add_contacts(3)
    summary = as_json(notify("--milestone", "sg-report", "--kind", "notice", "--dry-run",
                             "--format", "json"))
    assert summary["dry_run"] is True and summary["recipients"] == 3 and summary["sent"] == 0
    assert fake.request_count == 0 and ledger_states("sg-report") == {}
    result = notify("--milestone", "sg-report", "--kind", "notice", "--dry-run")
    assert result.exit_code == 0 and "3 to send" in result.stdout


# --- errors -------------------------------------------------------------------------------


def test_unknown_milestone_lists_the_known_ids(fake: FakeSendGrid) -> None:
    error = one_line_error(notify("--milestone", "sg-reprot", "--kind", "notice"))
    assert "'sg-reprot'" in error and "sg-report" in error and "hearing" in error
    assert fake.request_count == 0


@pytest.mark.parametrize(("args", "expected"), [
    (["--audience", "delegates"], "unknown audience 'delegates'; known: member-states"),
    (["--audience", "co-chairs"], "'co-chairs' is not an audience of 'sg-report'"),
    (["--days-before", "7"], "--days-before is only for --kind reminder"),
])
def test_bad_options_are_one_line(fake: FakeSendGrid, args: list[str], expected: str) -> None:
    add_contacts(1)
    error = one_line_error(notify("--milestone", "sg-report", "--kind", "notice", *args))
    assert expected in error and fake.request_count == 0


@pytest.mark.parametrize(("kind", "days"), [("escalation", None), ("reminder", "-1")])
def test_bad_kind_or_offset(fake: FakeSendGrid, kind: str, days: str | None) -> None:
    args = ["--milestone", "sg-report", "--kind", kind]
    error = one_line_error(notify(*args, *(["--days-before", days] if days else [])))
    assert ("notice, reminder" in error) if kind == "escalation" else ("negative" in error)


def test_bad_edition_is_one_line(fake: FakeSendGrid) -> None:
    result = CliRunner().invoke(app, ["notify", "--edition", "2031", "--milestone",
                                      "sg-report", "--kind", "notice"])
    assert "2031 is not a forum year" in one_line_error(result)


def test_bad_settings_are_one_line(fake: FakeSendGrid, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMRF_SENDGRID_HOST", "ftp://127.0.0.1")
    error = one_line_error(notify("--milestone", "sg-report", "--kind", "notice"))
    assert "IMRF_SENDGRID_HOST" in error and KEY not in error


def test_unusable_database_is_one_line(fake: FakeSendGrid,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMRF_DATABASE_URL", "nosuchdb://u:pw-zz9@127.0.0.1/x")
    error = one_line_error(notify("--milestone", "sg-report", "--kind", "notice"))
    assert "cannot open database" in error and "pw-zz9" not in error


def test_bad_key_exits_1_without_the_key_and_keeps_rows_pending(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_contacts(3)
    with FakeSendGrid(api_keys=("SG.the-right-one",)) as server:
        monkeypatch.setenv("SENDGRID_API_KEY", KEY)
        monkeypatch.setenv("IMRF_SENDGRID_HOST", server.host)
        result = notify("--milestone", "sg-report", "--kind", "notice")
        error = one_line_error(result, code=1)
        assert "API key" in error and KEY not in result.output
        assert set(ledger_states("sg-report").values()) == {"pending"}
        # Fixed key: everything goes out now, once.
        monkeypatch.setenv("SENDGRID_API_KEY", "SG.the-right-one")
        summary = as_json(notify("--milestone", "sg-report", "--kind", "notice",
                                 "--format", "json"))
        assert summary["sent"] == 3 and len(server.delivered) == 3


def test_lost_answer_after_acceptance_stays_unknown_and_is_not_resent(
    fake: FakeSendGrid,
) -> None:
    add_contacts(4)
    fake.inject(Fault.accept_then_drop())
    result = notify("--milestone", "sg-report", "--kind", "notice", "--format", "json")
    assert "unknown" in one_line_error(result, code=1)
    assert json.loads(result.stdout)["maybe_delivered"] is True
    again = notify("--milestone", "sg-report", "--kind", "notice", "--format", "json")
    assert again.exit_code == 1  # an operator must resolve the unknown ones
    data = json.loads(again.stdout)
    assert (data["sent"], data["unknown"], data["requests"]) == (0, 4, 0)
    assert len(fake.delivered) == 4 and fake.request_count == 1


def test_a_failure_mid_fan_out_reports_what_was_done(fake: FakeSendGrid) -> None:
    add_contacts(1500)
    # The first request goes through; the second is accepted but its answer is lost.
    fake.inject(Fault.accept_then_hook(lambda _: None), Fault.accept_then_drop())
    result = notify("--milestone", "sg-report", "--kind", "notice", "--format", "json")
    error = one_line_error(result, code=1)
    assert "after 1000 recipient(s) were handled (1000 sent, 0 already sent, 0 failed, " \
           "500 unknown)" in error
    data = json.loads(result.stdout)
    assert {k: data[k] for k in SUMMARY_KEYS} == {
        "sent": 1000, "already_sent": 0, "failed": 0, "unknown": 500, "requests": 2}
    assert data["maybe_delivered"] is True and data["recipients_handled"] == 1000
    assert data["ledger_milestone"] == "sg-report" and f"SendGrid at {fake.host}" in str(
        data["sender"])
    assert KEY not in result.output
    states = list(ledger_states("sg-report").values())
    assert (states.count("sent"), states.count("unknown")) == (1000, 500)


def test_dry_run_counts_failed_messages(data_dir: Path) -> None:
    add_contacts(3)
    store = open_store(load_settings())
    try:
        ledger = Ledger(store)
        key = MessageKey(edition=2030, milestone="sg-report", kind=MessageKind.NOTICE,
                         recipient="delegate0@mission.example.int")
        ledger.reserve([key])
        ledger.mark_in_flight([key], "earlier")
        ledger.mark_failed([key], "550 no such mailbox", retryable=False, attempt_id="earlier")
    finally:
        store.dispose()
    summary = as_json(notify("--milestone", "sg-report", "--kind", "notice", "--dry-run",
                             "--format", "json"))
    assert (summary["failed"], summary["already_sent"], summary["unknown"]) == (1, 0, 0)
    result = notify("--milestone", "sg-report", "--kind", "notice", "--dry-run")
    assert result.exit_code == 0
    assert "3 recipient(s): 2 to send, 0 already sent, 1 failed, 0 unknown" in result.stdout
