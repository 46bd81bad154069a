"""The local SendGrid stand-in refuses what SendGrid refuses and injects faults on demand.

Driven with the real `sendgrid` client wherever it can produce the payload, and with raw
httpx where it cannot (broken JSON, no Authorization header, an oversized body).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from python_http_client.exceptions import (
    BadRequestsError,
    ForbiddenError,
    InternalServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from sendgrid import SendGridAPIClient

from imrf.devtools.fake_sendgrid import (
    INVALID_GRANT,
    MAIL_SEND_PATH,
    AcceptedRequest,
    FakeSendGrid,
    Fault,
)

KEY = "SG.test-key"


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_keys=(KEY,), verified_senders={"imrf@un.org"}) as server:
        yield server


@pytest.fixture
def client(fake: FakeSendGrid) -> SendGridAPIClient:
    return SendGridAPIClient(api_key=KEY, host=fake.host)


def body(recipients: int = 1, **overrides: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "from": {"email": "imrf@un.org", "name": "IMRF"},
        "subject": "Hearing for -name-",
        "content": [
            {"type": "text/plain", "value": "Dear -name-, see you."},
            {"type": "text/html", "value": "<p>Dear -name-, see you.</p>"},
        ],
        "categories": ["imrf", "notice"],
        "custom_args": {"edition": "2026", "kind": "notice"},
        "personalizations": [
            {
                "to": [{"email": f"user{i}@example.org", "name": f"User {i}"}],
                "substitutions": {"-name-": f"User {i}"},
                "custom_args": {"row": str(i), "kind": "reminder"},
            }
            for i in range(recipients)
        ],
    }
    message.update(overrides)
    return message


def post(client: SendGridAPIClient, payload: dict[str, Any]) -> Any:
    return client.client.mail.send.post(request_body=payload)


def errors_of(error: Exception) -> list[dict[str, Any]]:
    data = json.loads(error.body)  # type: ignore[attr-defined]
    assert set(data) == {"errors"}
    for entry in data["errors"]:
        assert set(entry) == {"message", "field", "help"}
    return list(data["errors"])


def test_accepts_a_valid_request_and_records_each_recipient(
    fake: FakeSendGrid, client: SendGridAPIClient
) -> None:
    response = post(client, body(3))

    assert response.status_code == 202
    message_id = response.headers["X-Message-Id"]
    assert message_id
    delivered = fake.delivered
    assert [d.email for d in delivered] == [f"user{i}@example.org" for i in range(3)]
    second = delivered[1]
    assert second.message_id == message_id
    assert second.subject == "Hearing for User 1"
    assert second.text == "Dear User 1, see you."
    assert second.html == "<p>Dear User 1, see you.</p>"
    # Personalization custom_args override the message's on conflict, as SendGrid merges them.
    assert second.custom_args == {"edition": "2026", "kind": "reminder", "row": "1"}
    assert second.categories == ("imrf", "notice")
    assert second.substitutions == {"-name-": "User 1"}
    [record] = fake.requests
    assert (record.status, record.message_id, record.path) == (202, message_id, MAIL_SEND_PATH)
    assert record.body["subject"] == "Hearing for -name-"


def test_message_ids_are_unique_per_request(client: SendGridAPIClient) -> None:
    ids = {post(client, body(1)).headers["X-Message-Id"] for _ in range(20)}
    assert len(ids) == 20


def test_unknown_key_gets_401_with_sendgrids_body(fake: FakeSendGrid) -> None:
    wrong = SendGridAPIClient(api_key="SG.wrong", host=fake.host)
    with pytest.raises(UnauthorizedError) as caught:
        post(wrong, body())
    assert caught.value.status_code == 401
    assert json.loads(caught.value.body) == {
        "errors": [{"message": INVALID_GRANT, "field": None, "help": None}]
    }
    assert fake.delivered == []


def test_missing_authorization_header_gets_401(fake: FakeSendGrid) -> None:
    response = httpx.post(fake.host + MAIL_SEND_PATH, json=body())
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == INVALID_GRANT


def test_unverified_sender_gets_403(fake: FakeSendGrid, client: SendGridAPIClient) -> None:
    with pytest.raises(ForbiddenError) as caught:
        post(client, body() | {"from": {"email": "someone@else.org"}})
    assert caught.value.status_code == 403
    assert errors_of(caught.value)[0]["field"] == "from"
    assert fake.delivered == []


def test_verified_sender_matches_case_insensitively(client: SendGridAPIClient) -> None:
    assert post(client, body() | {"from": {"email": "IMRF@UN.ORG"}}).status_code == 202


def test_any_sender_is_accepted_without_a_verified_list() -> None:
    with FakeSendGrid(api_keys=(KEY,)) as open_fake:
        client = SendGridAPIClient(api_key=KEY, host=open_fake.host)
        assert post(client, body() | {"from": {"email": "x@y.org"}}).status_code == 202


def test_body_over_30_mb_gets_413(fake: FakeSendGrid) -> None:
    oversized = b"x" * (30 * 1024 * 1024 + 1)
    response = httpx.post(
        fake.host + MAIL_SEND_PATH, content=oversized,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert fake.delivered == []
    assert fake.requests[0].status == 413


def test_body_limit_is_configurable(client: SendGridAPIClient, fake: FakeSendGrid) -> None:
    fake.max_body_bytes = 500
    with pytest.raises(Exception) as caught:
        post(client, body(10))
    assert getattr(caught.value, "status_code", None) == 413


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
def test_invalid_json_gets_400(fake: FakeSendGrid, raw: bytes) -> None:
    response = httpx.post(
        fake.host + MAIL_SEND_PATH, content=raw,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert set(error) == {"message", "field", "help"}


def _without(key: str) -> dict[str, Any]:
    message = body()
    del message[key]
    return message


def _too_many_recipients() -> dict[str, Any]:
    message = body(334)  # 334 x (to + cc + bcc) = 1,002 recipients in 334 personalizations
    for i, personalization in enumerate(message["personalizations"]):
        personalization["cc"] = [{"email": f"cc{i}@example.org"}]
        personalization["bcc"] = [{"email": f"bcc{i}@example.org"}]
    return message


def _duplicate_across_personalizations() -> dict[str, Any]:
    message = body(3)
    message["personalizations"][2]["to"][0]["email"] = "USER0@example.org"
    return message


def _personalization_without_to() -> dict[str, Any]:
    message = body(2)
    del message["personalizations"][1]["to"]
    return message


def _custom_args_too_big() -> dict[str, Any]:
    message = body(2)
    message["personalizations"][1]["custom_args"] = {"blob": "x" * 10_000}
    return message


BAD_REQUESTS = {
    "missing from": (lambda: _without("from"), "from.email"),
    "missing personalizations": (lambda: _without("personalizations"), "personalizations"),
    "empty personalizations": (lambda: body() | {"personalizations": []}, "personalizations"),
    "missing subject": (lambda: _without("subject"), "subject"),
    "missing content": (lambda: _without("content"), "content"),
    "empty content value": (
        lambda: body() | {"content": [{"type": "text/plain", "value": ""}]}, "content.0.value"),
    "personalization without to": (_personalization_without_to, "personalizations.1.to"),
    "1,001 personalizations": (lambda: body(1001), "personalizations"),
    "1,002 recipients": (_too_many_recipients, "personalizations"),
    "address repeated (case-insensitive)": (_duplicate_across_personalizations,
                                            "personalizations.2"),
    "11 categories": (lambda: body() | {"categories": [f"c{i}" for i in range(11)]},
                      "categories"),
    "custom_args over 10,000 bytes": (_custom_args_too_big, "personalizations.1.custom_args"),
    "send_at beyond 72 hours": (lambda: body() | {"send_at": int(time.time()) + 73 * 3600},
                                "send_at"),
    "comma in a to name": (
        lambda: body() | {"personalizations": [{"to": [{"email": "a@b.org", "name": "A, B"}]}]},
        "personalizations.0.to.0.name"),
    "invalid address": (
        lambda: body() | {"personalizations": [{"to": [{"email": "not-an-address"}]}]},
        "personalizations.0.to.0.email"),
    "attachment not base64": (
        lambda: body() | {"attachments": [{"filename": "a.ics", "content": "%%%"}]},
        "attachments.0.content"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_sendgrid_400s(case: str, fake: FakeSendGrid, client: SendGridAPIClient) -> None:
    build, field = BAD_REQUESTS[case]
    with pytest.raises(BadRequestsError) as caught:
        post(client, build())
    errors = errors_of(caught.value)
    assert field in [error["field"] for error in errors], errors
    assert all(error["message"] for error in errors)
    assert fake.delivered == []
    assert fake.requests[0].status == 400
    assert fake.requests[0].errors


@pytest.mark.parametrize("personalizations", [5, [5], [{"to": 5}], [{"to": [{"email": 5}]}],
                                              [{"to": [], "cc": "x@y.org"}]])
def test_odd_shapes_get_400_not_a_dropped_connection(
    client: SendGridAPIClient, personalizations: object
) -> None:
    with pytest.raises(BadRequestsError):
        post(client, body() | {"personalizations": personalizations})


def test_limits_are_inclusive(client: SendGridAPIClient, fake: FakeSendGrid) -> None:
    at_limit = body(1000) | {
        "categories": [f"c{i}" for i in range(10)],
        "send_at": int(time.time()) + 71 * 3600,
    }
    assert post(client, at_limit).status_code == 202
    assert len(fake.delivered) == 1000


def test_template_id_replaces_subject_and_content(client: SendGridAPIClient) -> None:
    message = _without("subject")
    del message["content"]
    message["template_id"] = "d-123"
    assert post(client, message).status_code == 202


def test_subject_may_come_from_every_personalization(client: SendGridAPIClient) -> None:
    message = _without("subject")
    message["personalizations"][0]["subject"] = "Own subject"
    assert post(client, message).status_code == 202


def test_sandbox_mode_answers_200_and_delivers_nothing(
    fake: FakeSendGrid, client: SendGridAPIClient
) -> None:
    response = post(client, body(5) | {"mail_settings": {"sandbox_mode": {"enable": True}}})
    assert response.status_code == 200
    assert response.headers["X-Message-Id"]
    assert fake.delivered == []
    assert fake.requests[0].status == 200


def test_sandbox_still_validates(client: SendGridAPIClient) -> None:
    with pytest.raises(BadRequestsError):
        post(client, _without("subject") | {"mail_settings": {"sandbox_mode": {"enable": True}}})


def test_rate_limited_fault_sends_sendgrids_headers(
    fake: FakeSendGrid, client: SendGridAPIClient
) -> None:
    fake.inject(Fault.rate_limited(reset_in=5.0, limit=600))
    before = time.time()
    with pytest.raises(TooManyRequestsError) as caught:
        post(client, body())
    headers = caught.value.headers
    assert headers["X-RateLimit-Limit"] == "600"
    assert headers["X-RateLimit-Remaining"] == "0"
    reset = int(headers["X-RateLimit-Reset"])  # epoch seconds, an integer
    assert before + 5 <= reset <= time.time() + 6
    assert fake.delivered == []
    # The queue is consumed one fault per request: the next one goes through.
    assert post(client, body()).status_code == 202


def test_faults_are_consumed_in_order(fake: FakeSendGrid, client: SendGridAPIClient) -> None:
    fake.inject(Fault.server_error(), Fault.server_error(status=503))
    assert fake.pending_faults == 2
    with pytest.raises(InternalServerError):
        post(client, body())
    with pytest.raises(ServiceUnavailableError):
        post(client, body())
    assert post(client, body()).status_code == 202
    assert [r.status for r in fake.requests] == [500, 503, 202]
    assert [r.fault for r in fake.requests] == ["server_error", "server_error", None]


def test_drop_connection_closes_without_answer(
    fake: FakeSendGrid, client: SendGridAPIClient
) -> None:
    fake.inject(Fault.drop_connection())
    with pytest.raises(http.client.RemoteDisconnected):
        post(client, body())
    assert fake.delivered == []
    assert fake.requests[0].status is None
    assert post(client, body()).status_code == 202


def test_accept_then_hook_delivers_then_calls_the_hook(
    fake: FakeSendGrid, client: SendGridAPIClient
) -> None:
    seen: list[AcceptedRequest] = []
    fake.inject(Fault.accept_then_hook(seen.append))
    response = post(client, body(2))
    assert response.status_code == 202
    [accepted] = seen
    assert accepted.message_id == response.headers["X-Message-Id"]
    assert [r.email for r in accepted.recipients] == ["user0@example.org", "user1@example.org"]


def test_a_raising_hook_loses_the_answer_but_not_the_delivery(
    fake: FakeSendGrid, client: SendGridAPIClient
) -> None:
    fake.inject(Fault.accept_then_drop())
    with pytest.raises(http.client.RemoteDisconnected):
        post(client, body(2))
    # SendGrid accepted: the recipients got it although the sender never heard back.
    assert fake.delivered_emails == ["user0@example.org", "user1@example.org"]
    assert fake.requests[0].status == 202


def test_reset_forgets_records_and_faults(fake: FakeSendGrid, client: SendGridAPIClient) -> None:
    post(client, body(2))
    fake.inject(Fault.server_error())
    fake.reset()
    assert (fake.requests, fake.delivered, fake.request_count, fake.pending_faults) == (
        [], [], 0, 0)
    assert post(client, body()).status_code == 202


def test_other_paths_and_methods(fake: FakeSendGrid) -> None:
    assert httpx.post(fake.host + "/v3/nothing", json={}).status_code == 404
    assert httpx.get(fake.host + MAIL_SEND_PATH).status_code == 405


def test_concurrent_requests_are_all_recorded(fake: FakeSendGrid) -> None:
    def send(worker: int) -> None:
        client = SendGridAPIClient(api_key=KEY, host=fake.host)
        for round_ in range(5):
            message = body(10)
            for i, personalization in enumerate(message["personalizations"]):
                personalization["to"][0]["email"] = f"w{worker}r{round_}u{i}@example.org"
            post(client, message)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.request_count == 40
    assert len(set(fake.delivered_emails)) == 400
    assert len({r.message_id for r in fake.requests}) == 40


def test_ten_requests_of_1000_deliver_10000(
    fake: FakeSendGrid, client: SendGridAPIClient
) -> None:
    # Its speed is measured by `make bench` (notify), not asserted: shared machines are noisy.
    message = body(1000)
    for _ in range(10):
        post(client, message)
    assert len(fake.delivered) == 10_000
    assert all(record.seconds >= 0 for record in fake.requests)


def test_bounded_records_keep_counting() -> None:
    with FakeSendGrid(api_keys=(KEY,), max_records=3) as bounded:
        client = SendGridAPIClient(api_key=KEY, host=bounded.host)
        for _ in range(5):
            post(client, body(2))
        assert bounded.request_count == 5
        assert len(bounded.requests) == 3
        assert len(bounded.delivered) == 3
        # The newest records, whole: only those are built.
        post(client, body(5))
        kept = bounded.delivered
        assert [r.email for r in kept] == [f"user{i}@example.org" for i in (2, 3, 4)]
        assert [r.substitutions["-name-"] for r in kept] == ["User 2", "User 3", "User 4"]
        assert {r.custom_args["row"] for r in kept} == {"2", "3", "4"}


def test_stop_releases_the_port() -> None:
    fake = FakeSendGrid().start()
    port = fake.port
    fake.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}{MAIL_SEND_PATH}", json={})
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.host


def test_command_line_runs_in_the_foreground() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "imrf.devtools.fake_sendgrid", "--port", "0", "--key", "SG.cli"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in first
        host = first.split("listening on ", 1)[1].split()[0]
        client = SendGridAPIClient(api_key="SG.cli", host=host)
        assert post(client, body(2)).status_code == 202
        assert "-> 202 2 personalizations" in process.stdout.readline()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "stopped after 1 requests" in output
