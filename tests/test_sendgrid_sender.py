"""The SendGrid sender against the local stand-in: splitting, retry policy, errors, secrecy."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from imrf.delivery import sendgrid_sender
from imrf.delivery.base import (
    _LINE_BREAKS,
    AuthenticationError,
    DeliveryError,
    InvalidBatchError,
    RateLimitedError,
    SenderIdentityError,
    one_line,
)
from imrf.delivery.message import (
    Attachment,
    DeliveryState,
    MessageBatch,
    Personalization,
)
from imrf.delivery.sendgrid_sender import EU_HOST, SendGridSender
from imrf.devtools.fake_sendgrid import FakeSendGrid, Fault
from imrf.vocabulary import MessageKind

KEY = "SG.very-secret-key-0123456789"
FROM = "imrf@un.org"


class Sleeps:
    """An injected sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_keys=(KEY,), verified_senders={FROM}) as server:
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_sender(fake: FakeSendGrid, sleeps: Sleeps, **options: object) -> SendGridSender:
    settings: dict[str, object] = {
        "from_email": FROM, "from_name": "IMRF secretariat", "host": fake.host, "sleep": sleeps,
    }
    settings.update(options)
    return SendGridSender(SecretStr(KEY), **settings)  # type: ignore[arg-type]


def make_batch(n: int, **overrides: object) -> MessageBatch:
    fields: dict[str, object] = {
        "edition": 2026, "milestone": "hearing", "kind": MessageKind.NOTICE,
        "subject": "Hearing for {{name}}", "text": "Dear {{name}},\nsee you.",
        "html": "<p>Dear {{name}},</p>", "categories": ("imrf", "notice"),
        "custom_args": {"edition": "2026", "milestone": "hearing"},
        "recipients": tuple(
            Personalization(email=f"user{i}@example.org", name=f"User {i}",
                            substitutions={"{{name}}": f"User {i}"},
                            custom_args={"ledger_id": str(i)})
            for i in range(n)
        ),
    }
    fields.update(overrides)
    return MessageBatch(**fields)  # type: ignore[arg-type]


def test_2500_recipients_go_in_three_requests_each_delivered_once(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    sender = make_sender(fake, sleeps)
    batch = make_batch(2500)

    chunks = sender.chunks(batch)
    report = sender.send(batch)

    assert [len(chunk.recipients) for chunk in chunks] == [1000, 1000, 500]
    assert fake.request_count == 3
    delivered = fake.delivered_emails
    assert sorted(delivered) == sorted(f"user{i}@example.org" for i in range(2500))
    assert len(delivered) == len(set(delivered)) == 2500
    assert report.sent == 2500 and report.failed == 0
    assert set(report.states) == {f"user{i}@example.org" for i in range(2500)}
    assert [c.message_id for c in report.chunks] == [r.message_id for r in fake.requests]
    assert all(c.status == 202 and c.attempts == 1 for c in report.chunks)
    assert sleeps.calls == []


def test_each_recipient_gets_a_personalization_of_their_own(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    make_sender(fake, sleeps).send(make_batch(3))
    body = fake.requests[0].body
    assert [p["to"] for p in body["personalizations"]] == [
        [{"email": f"user{i}@example.org", "name": f"User {i}"}] for i in range(3)
    ]
    record = fake.delivered[2]
    assert record.subject == "Hearing for User 2"
    assert record.text == "Dear User 2,\nsee you."
    assert record.custom_args == {"edition": "2026", "milestone": "hearing", "ledger_id": "2"}
    assert record.categories == ("imrf", "notice")
    assert body["from"] == {"email": FROM, "name": "IMRF secretariat"}
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]


def test_request_body_details(fake: FakeSendGrid, sleeps: Sleeps) -> None:
    invite = Attachment(filename="hearing.ics", content_type="text/calendar; method=PUBLISH",
                        content=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    batch = make_batch(
        1, attachments=(invite,), categories=("imrf", "imrf", "notice"), html="",
        recipients=(Personalization(email="a@example.org", name="Korea, Republic of; Mission"),),
    )
    sender = make_sender(fake, sleeps, sandbox=True)
    body = sender.request_body(batch)
    assert body["attachments"] == [{
        "content": "QkVHSU46VkNBTEVOREFSDQpFTkQ6VkNBTEVOREFSDQo=",
        "type": "text/calendar; method=PUBLISH", "filename": "hearing.ics",
        "disposition": "attachment",
    }]
    assert body["categories"] == ["imrf", "notice"]
    assert body["content"] == [{"type": "text/plain", "value": "Dear {{name}},\nsee you."}]
    # SendGrid refuses ";" and "," in a recipient's name.
    assert body["personalizations"][0]["to"][0]["name"] == "Korea Republic of Mission"
    assert body["mail_settings"] == {"sandbox_mode": {"enable": True}}


def test_the_body_goes_as_utf8_json_and_arrives_as_sent(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    names = ["Zoë Åström", "Ǹgozi «Nkem» Okoro", 'Quote " and back\\slash', "中文 名字"]
    batch = make_batch(0, recipients=tuple(
        Personalization(email=f"u{i}@example.org", name=name, substitutions={"{{name}}": name})
        for i, name in enumerate(names)))
    sender = make_sender(fake, sleeps)
    sender.send_chunk(batch)
    sent = fake.requests[0].body
    assert sent == sender.request_body(batch)
    assert [p["to"][0]["name"] for p in sent["personalizations"]] == names
    # UTF-8 as it is, not \uXXXX escapes: the body is smaller than json.dumps's.
    assert fake.requests[0].size < len(json.dumps(sent).encode())
    client_headers = sender._mail_send().request_headers
    assert client_headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_string_orjson_refuses_is_encoded_by_json() -> None:
    body = {"subject": "lone \ud800 surrogate"}
    assert json.loads(sendgrid_sender._encode(body)) == body


def test_duplicate_addresses_are_sent_once(fake: FakeSendGrid, sleeps: Sleeps) -> None:
    people = (Personalization(email="A@example.org", name="A"),
              Personalization(email="a@EXAMPLE.org", name="A again"),
              Personalization(email="b@example.org", name="B"))
    report = make_sender(fake, sleeps).send(make_batch(0, recipients=people))
    assert fake.delivered_emails == ["A@example.org", "b@example.org"]
    assert report.states == {"a@example.org": DeliveryState.SENT,
                             "b@example.org": DeliveryState.SENT}


def test_429_waits_until_the_reset_header_then_succeeds(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    notes: list[str] = []
    sender = make_sender(fake, sleeps, on_wait=notes.append)
    fake.inject(Fault.rate_limited(reset_in=20.0))

    started = time.time()
    [result] = sender.send(make_batch(5)).chunks

    [wait] = sleeps.calls
    # The header is an epoch-seconds integer rounded up: 20 s away, give or take a second.
    assert 19.0 <= wait <= 21.0 + (time.time() - started)
    assert result.attempts == 2 and result.waited == wait and result.status == 202
    assert len(fake.delivered) == 5
    [note] = notes
    assert "429" in note and "attempt 2 of 6" in note


def test_429_further_away_than_allowed_raises_rate_limited(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    sender = make_sender(fake, sleeps, max_rate_limit_wait=60.0)
    fake.inject(Fault.rate_limited(reset_in=3600.0))
    with pytest.raises(RateLimitedError) as caught:
        sender.send(make_batch(2))
    assert caught.value.retryable and caught.value.status == 429
    assert caught.value.reset_at is not None and caught.value.reset_at > time.time() + 3000
    assert sleeps.calls == []
    assert caught.value.partial is not None and caught.value.partial.chunks == ()


def test_500_then_success_backs_off_and_retries(fake: FakeSendGrid, sleeps: Sleeps) -> None:
    fake.inject(Fault.server_error(500))
    [result] = make_sender(fake, sleeps, backoff_base=0.5).send(make_batch(4)).chunks
    [wait] = sleeps.calls
    assert 0.25 <= wait <= 0.5
    assert (result.attempts, result.status, result.ambiguous_attempts) == (2, 202, 0)
    assert sorted(fake.delivered_emails) == sorted(f"user{i}@example.org" for i in range(4))


def test_persistent_outage_gives_up_with_a_retryable_error(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    fake.inject(*[Fault.server_error(503)] * 6)
    sender = make_sender(fake, sleeps, max_attempts=6, backoff_base=1.0, backoff_max=4.0)
    with pytest.raises(DeliveryError) as caught:
        sender.send_chunk(make_batch(2))
    error = caught.value
    assert error.retryable and error.status == 503 and not error.maybe_delivered
    assert "gave up after 6 attempts" in str(error)
    assert fake.request_count == 6
    assert len(sleeps.calls) == 5
    # Exponential with jitter, capped: ceilings 1, 2, 4, 4, 4; each wait in [ceiling/2, ceiling].
    for wait, ceiling in zip(sleeps.calls, [1, 2, 4, 4, 4], strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_dropped_connection_then_success(fake: FakeSendGrid, sleeps: Sleeps) -> None:
    fake.inject(Fault.drop_connection())
    [result] = make_sender(fake, sleeps).send(make_batch(3)).chunks
    assert (result.attempts, result.status) == (2, 202)
    assert result.ambiguous_attempts == 1
    assert len(sleeps.calls) == 1
    assert len(fake.delivered) == 3  # the dropped request delivered nothing


def test_lost_answer_after_acceptance_is_reported_as_ambiguous(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    # SendGrid accepted, the answer was lost: a retry duplicates, and the result says it may.
    fake.inject(Fault.accept_then_drop())
    [result] = make_sender(fake, sleeps).send(make_batch(2)).chunks
    assert result.ambiguous_attempts == 1
    assert len(fake.delivered) == 4


def test_at_most_once_mode_does_not_retry_an_ambiguous_request(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    fake.inject(Fault.accept_then_drop())
    sender = make_sender(fake, sleeps, retry_ambiguous=False)
    with pytest.raises(DeliveryError) as caught:
        sender.send_chunk(make_batch(2))
    assert caught.value.maybe_delivered and not caught.value.retryable
    assert fake.request_count == 1 and len(fake.delivered) == 2
    assert sleeps.calls == []


def test_read_timeout_is_retried_and_flagged(fake: FakeSendGrid, sleeps: Sleeps) -> None:
    fake.inject(Fault.accept_then_hook(lambda _: time.sleep(0.6)))
    [result] = make_sender(fake, sleeps, timeout=0.2).send(make_batch(1)).chunks
    assert result.attempts == 2 and result.ambiguous_attempts == 1


def test_connection_refused_is_retried_then_given_up_as_not_delivered(sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SendGridSender(SecretStr(KEY), from_email=FROM, host=f"http://127.0.0.1:{port}",
                            sleep=sleeps, max_attempts=3)
    with pytest.raises(DeliveryError) as caught:
        sender.send_chunk(make_batch(1))
    assert caught.value.retryable and not caught.value.maybe_delivered
    assert "ConnectionRefusedError" in str(caught.value)
    assert len(sleeps.calls) == 2


def test_400_fails_the_chunk_with_sendgrids_message_without_retry(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    people = tuple(Personalization(email=f"user{i}@example.org", name="") for i in range(1500))
    people = (Personalization(email="not-an-address", name=""), *people)
    report = make_sender(fake, sleeps).send(make_batch(0, recipients=people))

    first, second = report.chunks
    assert first.status == 400 and first.attempts == 1
    assert first.count(DeliveryState.FAILED) == 1000
    assert first.errors == ("Does not contain a valid address. [personalizations.0.to.0.email]",)
    assert first.refused == ("not-an-address",)
    assert second.status == 202 and second.count(DeliveryState.SENT) == 501
    assert report.failed == 1000 and report.sent == 501
    assert fake.request_count == 2 and sleeps.calls == []


def test_401_raises_authentication_error_without_the_key(sleeps: Sleeps) -> None:
    with FakeSendGrid(api_keys=("SG.other",)) as fake:
        sender = make_sender(fake, sleeps)
        with pytest.raises(AuthenticationError) as caught:
            sender.send(make_batch(2))
    error = caught.value
    assert str(error).startswith(
        "SendGrid rejected the API key (401): check SENDGRID_API_KEY")
    assert error.status == 401 and not error.retryable
    assert fake.request_count == 1 and sleeps.calls == []
    assert_no_key(error)


def test_403_raises_sender_identity_error(fake: FakeSendGrid, sleeps: Sleeps) -> None:
    sender = make_sender(fake, sleeps, from_email="press@un.org")
    with pytest.raises(SenderIdentityError) as caught:
        sender.send(make_batch(2))
    assert str(caught.value).startswith(
        "SendGrid refused the sender identity press@un.org (403): verify it in SendGrid")
    assert not caught.value.retryable and sleeps.calls == []
    assert_no_key(caught.value)


def assert_no_key(error: BaseException) -> None:
    texts = [str(error), repr(error), repr(error.args), str(getattr(error, "body", ""))]
    cause = error.__cause__ or error.__context__
    if cause is not None:
        texts += [str(cause), repr(cause)]
    for text in texts:
        assert KEY not in text


def test_the_key_is_in_no_repr_error_or_log_line(
    fake: FakeSendGrid, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = make_sender(fake, sleeps)
    fake.inject(Fault.server_error(500))
    sender.send(make_batch(2))
    with FakeSendGrid(api_keys=("SG.other",)) as other, pytest.raises(
        AuthenticationError
    ) as caught:
        make_sender(other, sleeps).send(make_batch(1))
    assert KEY not in repr(sender) and "**********" in repr(sender)
    assert_no_key(caught.value)
    assert "Bearer [redacted]" in caplog.text  # the client's debug log was redacted, not lost
    assert KEY not in caplog.text
    assert "user1@example.org" not in caplog.text  # nor the payload with the addresses


def test_partial_report_is_attached_when_a_later_chunk_fails(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    fake.inject(Fault.accept_then_hook(lambda _: fake.inject(Fault.server_error(500))))
    with pytest.raises(DeliveryError) as caught:
        make_sender(fake, sleeps, max_attempts=1).send(make_batch(1500))
    partial = caught.value.partial
    assert partial is not None and partial.sent == 1000
    assert caught.value.retryable


def test_sandbox_is_accepted_with_200_and_delivers_nothing(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    [result] = make_sender(fake, sleeps, sandbox=True).send(make_batch(3)).chunks
    assert (result.status, result.sandbox) == (200, True)
    assert result.count(DeliveryState.SENT) == 3
    assert fake.delivered == []


def test_batches_sendgrid_would_refuse_are_refused_before_sending(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    sender = make_sender(fake, sleeps)
    with pytest.raises(InvalidBatchError, match="11 categories"):
        sender.send(make_batch(2, categories=tuple(f"c{i}" for i in range(11))))
    with pytest.raises(InvalidBatchError, match=r"custom_args for user0@example\.org"):
        sender.send(make_batch(2, custom_args={"blob": "x" * 10_000}))
    with pytest.raises(InvalidBatchError, match="text and the HTML body are empty"):
        sender.send(make_batch(2, text="", html=""))
    assert fake.request_count == 0


def test_attachments_too_big_for_any_request_are_refused(
    fake: FakeSendGrid, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sendgrid_sender, "MAX_REQUEST_BYTES", 10_000)
    big = Attachment(filename="big.pdf", content_type="application/pdf", content=b"x" * 9000)
    with pytest.raises(InvalidBatchError, match="SendGrid refuses 30 MB"):
        make_sender(fake, sleeps).send(make_batch(3, attachments=(big,)))
    assert fake.request_count == 0


def test_chunks_also_respect_the_body_size(
    fake: FakeSendGrid, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sendgrid_sender, "MAX_REQUEST_BYTES", 400_000)
    people = tuple(Personalization(email=f"u{i}@example.org", name="",
                                   substitutions={"{{name}}": "x" * 500}) for i in range(600))
    sender = make_sender(fake, sleeps)
    chunks = sender.chunks(make_batch(0, recipients=people))
    assert len(chunks) > 1 and sum(len(c.recipients) for c in chunks) == 600
    sender.send(make_batch(0, recipients=people))
    assert all(record.size < 400_000 for record in fake.requests)
    assert len(fake.delivered) == 600


def test_the_eu_host_is_used_as_given() -> None:
    sender = SendGridSender(SecretStr(KEY), from_email=FROM, host=EU_HOST)
    assert sender._mail_send()._build_url(None) == "https://api.eu.sendgrid.com/v3/mail/send"


@pytest.mark.parametrize(("options", "message"), [
    ({"api_key": SecretStr(" ")}, "API key is empty"),
    ({"from_email": "nobody"}, "not an e-mail address"),
    ({"host": "api.sendgrid.com"}, "must start with https://"),
    ({"max_attempts": 0}, "at least 1"),
])
def test_bad_configuration_is_refused(options: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"api_key": SecretStr(KEY), "from_email": FROM}
    settings.update(options)
    with pytest.raises(ValueError, match=message):
        SendGridSender(**settings)  # type: ignore[arg-type]


def test_ten_thousand_recipients_in_ten_requests(fake: FakeSendGrid, sleeps: Sleeps) -> None:
    sender = make_sender(fake, sleeps)
    batch = make_batch(10_000)
    report = sender.send(batch)
    assert report.sent == 10_000 and fake.request_count == 10
    assert len(set(fake.delivered_emails)) == 10_000


def test_the_batchs_custom_args_go_once_and_merge_with_each_recipients(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    own = Personalization(email="own@example.org", name="Own",
                          custom_args={"ledger_id": "7", "milestone": "override"})
    plain = tuple(Personalization(email=f"p{i}@example.org", name=f"P {i}") for i in range(2))
    batch = make_batch(0, recipients=(own, *plain))
    body = make_sender(fake, sleeps).request_body(batch)
    assert body["custom_args"] == {"edition": "2026", "milestone": "hearing"}
    assert body["custom_args"] is not batch.custom_args
    assert [p.get("custom_args") for p in body["personalizations"]] == [
        {"ledger_id": "7", "milestone": "override"}, None, None]
    make_sender(fake, sleeps).send(batch)
    # As SendGrid merges them: a personalization's own win on a conflict.
    assert [d.custom_args for d in fake.delivered] == [
        {"edition": "2026", "milestone": "override", "ledger_id": "7"},
        {"edition": "2026", "milestone": "hearing"},
        {"edition": "2026", "milestone": "hearing"}]


def test_shared_custom_args_over_the_limit_name_the_first_recipient(
    fake: FakeSendGrid, sleeps: Sleeps
) -> None:
    people = tuple(Personalization(email=f"p{i}@example.org", name="P") for i in range(3))
    batch = make_batch(0, recipients=people, custom_args={"blob": "x" * 10_000})
    with pytest.raises(InvalidBatchError, match=r"custom_args for p0@example\.org"):
        make_sender(fake, sleeps).chunks(batch)
    assert fake.request_count == 0


_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=4), st.sampled_from(
    [*_SPACES, "\x00", "\x7f", "\u2028", "a", ";", ","])), max_size=10).map("".join))
@example(" a")
@example("a  b")
@example("a\xa0b ")
def test_one_line_shortcut_changes_nothing(value: str) -> None:
    # one_line skips its work for values that need none; the result is the same.
    assert one_line(value) == " ".join(_LINE_BREAKS.sub(" ", value).split())
