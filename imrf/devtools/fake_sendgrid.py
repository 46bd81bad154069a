"""A local stand-in for SendGrid's v3 Mail Send endpoint, for tests, benchmarks and demos.

It validates requests the way SendGrid documents (facts §6) and answers with SendGrid's status
codes and error shape, so the real ``sendgrid`` client and our sender can be exercised without
network access. Faults (rate limits, outages, lost connections, a crash after acceptance) are
injected one per request from a queue.

    with FakeSendGrid(api_keys=("SG.test",)) as fake:
        SendGridAPIClient(api_key="SG.test", host=fake.host).send(...)
        assert fake.delivered[0].email == "a@example.org"

Run in the foreground (for ``make run`` or a benchmark):
``python -m imrf.devtools.fake_sendgrid --port 3030 --key SG.x``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import dataclasses
import json
import math
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any

import orjson

from imrf.delivery.base import json_size_at_least, substitute

MAIL_SEND_PATH = "/v3/mail/send"
MAX_BODY_BYTES = 30 * 1024 * 1024
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_CATEGORIES = 10
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SEND_AT_AHEAD = 72 * 3600
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
INVALID_GRANT = "The provided authorization grant is invalid, expired, or revoked"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, consumed by the next request that reaches the server."""

    kind: str
    status: int = 0
    reset_in: float = 0.0
    limit: int = 600
    hook: Callable[[AcceptedRequest], None] | None = None

    @classmethod
    def rate_limited(cls, reset_in: float = 1.0, limit: int = 600) -> Fault:
        """429 with SendGrid's rate-limit headers; the limit resets ``reset_in`` s from now."""
        return cls("rate_limited", status=429, reset_in=reset_in, limit=limit)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx answer (500, 502, 503, 504…)."""
        return cls("server_error", status=status)

    @classmethod
    def drop_connection(cls) -> Fault:
        """Read the request, then close the socket without answering; nothing is delivered."""
        return cls("drop_connection")

    @classmethod
    def accept_then_hook(cls, hook: Callable[[AcceptedRequest], None]) -> Fault:
        """Accept and record the request as delivered, then call ``hook`` before answering.

        If the hook raises, the connection is closed without an answer: the sender cannot know
        that SendGrid accepted (the "crashed after SendGrid accepted" case).
        """
        return cls("accept_then_hook", hook=hook)

    @classmethod
    def accept_then_drop(cls) -> Fault:
        """Accept and record the request as delivered, then close without answering."""

        def lose_response(_: AcceptedRequest) -> None:
            raise ConnectionAbortedError("response lost after acceptance (injected)")

        return cls.accept_then_hook(lose_response)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it."""

    index: int
    method: str
    path: str
    status: int | None  # None when the connection was dropped without an answer
    size: int  # body bytes
    body: Any  # the parsed JSON body, None when absent or not JSON
    message_id: str | None = None
    fault: str | None = None
    errors: tuple[str, ...] = ()
    seconds: float = 0.0  # time spent handling it (after the body was read)


class DeliveredRecord:
    """One recipient of an accepted request. Subject and bodies are rendered on demand."""

    __slots__ = (
        "_content", "_subject", "attachments", "categories", "custom_args", "email",
        "from_email", "message_id", "name", "request_index", "substitutions",
    )

    def __init__(
        self, *, email: str, name: str | None, message_id: str, request_index: int,
        from_email: str, subject: str, content: tuple[tuple[str, str], ...],
        custom_args: dict[str, str], categories: tuple[str, ...],
        substitutions: dict[str, str], attachments: tuple[tuple[str, str], ...],
    ) -> None:
        self.email = email
        self.name = name
        self.message_id = message_id
        self.request_index = request_index
        self.from_email = from_email
        self.custom_args = custom_args
        self.categories = categories
        self.substitutions = substitutions
        self.attachments = attachments  # (filename, type) pairs
        self._subject = subject
        self._content = content

    @property
    def subject(self) -> str:
        """The subject as this recipient receives it (substitutions applied)."""
        return substitute(self._subject, self.substitutions)

    def body(self, content_type: str) -> str | None:
        """The content of ``content_type`` ("text/plain", "text/html") as received, if any."""
        for kind, value in self._content:
            if kind == content_type:
                return substitute(value, self.substitutions)
        return None

    @property
    def text(self) -> str | None:
        return self.body("text/plain")

    @property
    def html(self) -> str | None:
        return self.body("text/html")

    def __repr__(self) -> str:
        return f"DeliveredRecord(email={self.email!r}, message_id={self.message_id!r})"


@dataclass(frozen=True)
class AcceptedRequest:
    """What an ``accept_then_hook`` hook receives."""

    message_id: str
    request_index: int
    recipients: tuple[DeliveredRecord, ...] = field(default_factory=tuple)


class _Drop(Exception):
    """Close the connection without an answer."""


def _error(message: str, field_name: str | None = None, anchor: str = "") -> dict[str, Any]:
    return {"message": message, "field": field_name, "help": f"{HELP}{anchor}" if anchor else None}


def validate_mail_send(body: Any, now: float) -> list[dict[str, Any]]:
    """SendGrid's 400 checks on a Mail Send body; an empty list when the body is acceptable."""
    if not isinstance(body, dict):
        return [_error("Bad Request", None)]
    errors: list[dict[str, Any]] = []
    sender = body.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("email"), str):
        errors.append(_error(
            "The from object must be provided for every email send. It is an object that "
            "requires the email parameter, but may also contain a name parameter.",
            "from.email", "#message.from",
        ))
    elif not _EMAIL.match(sender["email"]):
        errors.append(_error("The from email does not contain a valid address.", "from.email"))
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(_error(
            "The personalizations field is required and must have at least one "
            "personalization.", "personalizations", "#-Personalizations-Errors",
        ))
        return errors
    if len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(_error(
            f"The personalization block is limited to {MAX_PERSONALIZATIONS} personalizations "
            f"per API request. You have provided {len(personalizations)} personalizations. "
            "Please consider splitting this into multiple requests and resending your request.",
            "personalizations", "#-Personalizations-Errors",
        ))
        return errors
    has_template = isinstance(body.get("template_id"), str) and bool(body["template_id"])
    top_args = body.get("custom_args") or {}
    if not isinstance(top_args, dict):
        errors.append(_error("Invalid type. Expected: object, given: string.", "custom_args"))
        top_args = {}
    errors.extend(_check_personalizations(personalizations, body, top_args, has_template, now))
    if not has_template:
        errors.extend(_check_content(body.get("content")))
    errors.extend(_check_categories(body.get("categories")))
    errors.extend(_check_attachments(body.get("attachments")))
    errors.extend(_check_send_at(body.get("send_at"), "send_at", now))
    return errors


def _check_personalizations(
    personalizations: list[Any], body: Mapping[str, Any], top_args: Mapping[str, Any],
    has_template: bool, now: float,
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    total = 0
    subject_ok = isinstance(body.get("subject"), str) and bool(body["subject"])
    top_too_big: bool | None = None
    for i, personalization in enumerate(personalizations):
        where = f"personalizations.{i}"
        if not isinstance(personalization, dict):
            errors.append(_error("Each personalization must be an object.", where))
            continue
        to = personalization.get("to")
        if not isinstance(to, list) or not to:
            errors.append(_error(
                "The to array is required for all personalization objects, and must have at "
                "least one email object with a valid email address.", f"{where}.to",
                "#message.personalizations.to",
            ))
        for kind in ("to", "cc", "bcc"):
            for j, address in enumerate(personalization.get(kind) or ()):
                total += 1
                email = address.get("email") if isinstance(address, dict) else None
                if not isinstance(email, str) or not _EMAIL.match(email):
                    errors.append(_error("Does not contain a valid address.",
                                         f"{where}.{kind}.{j}.email"))
                    continue
                name = address.get("name")
                if isinstance(name, str) and (";" in name or "," in name):
                    errors.append(_error(
                        "The to.name, cc.name, and bcc.name personalizations cannot include "
                        "either the ; or , characters.", f"{where}.{kind}.{j}.name",
                    ))
                lowered = email.lower()
                if lowered in seen:
                    errors.append(_error(
                        "Each email address in the personalization block should be unique "
                        "between to, cc, and bcc. We found the first duplicate instance of "
                        f"[{email}] in the {where}.{kind} field.", where,
                    ))
                seen.add(lowered)
        if not has_template and not subject_ok and not personalization.get("subject"):
            errors.append(_error(
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.", "subject", "#message.subject",
            ))
            subject_ok = True  # report it once, like SendGrid
        args = personalization.get("custom_args")
        if args or top_args:
            if args:
                merged = {**top_args, **args} if isinstance(args, dict) else dict(top_args)
                too_big = json_size_at_least(merged, MAX_CUSTOM_ARGS_BYTES)
            else:  # the request's own, the same for every personalization: sized once
                if top_too_big is None:
                    top_too_big = json_size_at_least(top_args, MAX_CUSTOM_ARGS_BYTES)
                too_big = top_too_big
            if too_big:
                errors.append(_error(
                    f"The total length of custom arguments must be less than "
                    f"{MAX_CUSTOM_ARGS_BYTES} bytes.", f"{where}.custom_args",
                    "#message.custom_args",
                ))
        subs = personalization.get("substitutions")
        if isinstance(subs, dict) and subs and json_size_at_least(subs, MAX_CUSTOM_ARGS_BYTES):
            errors.append(_error(
                "The total collective size of your substitutions may not exceed 10,000 bytes "
                "per personalization object.", f"{where}.substitutions",
            ))
        errors.extend(_check_send_at(personalization.get("send_at"), f"{where}.send_at", now))
    if total > MAX_RECIPIENTS:
        errors.append(_error(
            f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per "
            f"request. You have provided {total}.", "personalizations",
            "#-Personalizations-Errors",
        ))
    return errors


def _check_content(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, list) or not content:
        return [_error(
            "Unless a valid template_id is provided, the content parameter is required. There "
            "must be at least one defined content block.", "content", "#message.content",
        )]
    errors = []
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(_error("The content type is required.", f"content.{i}.type"))
        elif not isinstance(block.get("value"), str) or not block["value"]:
            errors.append(_error("The content value must be a string at least one character "
                                 "in length.", f"content.{i}.value"))
        elif block["type"] in ("text/plain", "text/html") and i > 1:
            errors.append(_error("If present, text/plain and text/html may only be at index 0 "
                                 "and 1 of the content array.", f"content.{i}.type"))
        elif block["type"] == "text/html" and i == 0 and len(content) > 1 and any(
            isinstance(b, dict) and b.get("type") == "text/plain" for b in content[1:]
        ):
            errors.append(_error("If present, text/plain must be first, followed by text/html.",
                                 "content.0.type"))
    return errors


def _check_categories(categories: Any) -> list[dict[str, Any]]:
    if categories is None:
        return []
    if not isinstance(categories, list):
        return [_error("Categories must be an array of strings.", "categories")]
    errors = []
    if len(categories) > MAX_CATEGORIES:
        errors.append(_error(f"Too many categories: {len(categories)}. You may not have more "
                             f"than {MAX_CATEGORIES} categories per request.", "categories"))
    for i, category in enumerate(categories):
        if not isinstance(category, str) or len(category) > 255:
            errors.append(_error("A category must be a string of at most 255 characters.",
                                 f"categories.{i}"))
    return errors


def _check_attachments(attachments: Any) -> list[dict[str, Any]]:
    errors = []
    for i, attachment in enumerate(attachments or ()):
        if not isinstance(attachment, dict) or not attachment.get("filename"):
            errors.append(_error("The attachment filename is required.",
                                 f"attachments.{i}.filename"))
            continue
        try:
            base64.b64decode(attachment.get("content") or "", validate=True)
        except (binascii.Error, ValueError):
            errors.append(_error("The attachment content must be base64 encoded.",
                                 f"attachments.{i}.content"))
    return errors


def _check_send_at(send_at: Any, where: str, now: float) -> list[dict[str, Any]]:
    if send_at is None:
        return []
    if not isinstance(send_at, int) or send_at > now + MAX_SEND_AT_AHEAD:
        return [_error("The send_at parameter must be a UNIX timestamp no more than 72 hours "
                       "in the future.", where, "#message.send_at")]
    return []


class FakeSendGrid:
    """SendGrid's Mail Send endpoint on 127.0.0.1, served from a background thread."""

    def __init__(
        self,
        api_keys: Iterable[str] = ("SG.test",),
        verified_senders: Iterable[str] | None = None,
        *,
        port: int = 0,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_records: int | None = None,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._authorizations = frozenset(f"Bearer {key}" for key in api_keys)
        self._verified = (
            None if verified_senders is None else frozenset(s.lower() for s in verified_senders)
        )
        self._port = port
        self.max_body_bytes = max_body_bytes
        self._log = log
        self._clock = clock
        self._lock = threading.Lock()
        self._faults: collections.deque[Fault] = collections.deque()
        self._requests: collections.deque[RequestRecord] = collections.deque(maxlen=max_records)
        self._delivered: collections.deque[DeliveredRecord] = collections.deque(
            maxlen=max_records
        )
        self._count = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeSendGrid:
        """Bind 127.0.0.1 (port 0 picks a free one) and serve from a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="fake-sendgrid", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSendGrid is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """The base URL to give ``SendGridAPIClient(host=...)``."""
        return f"http://127.0.0.1:{self.port}"

    # -- records and faults ----------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        """Queue faults; each following request consumes one, in order."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """Requests received since the last reset (also those dropped from a bounded record)."""
        with self._lock:
            return self._count

    @property
    def delivered(self) -> list[DeliveredRecord]:
        with self._lock:
            return list(self._delivered)

    @property
    def delivered_emails(self) -> list[str]:
        with self._lock:
            return [record.email for record in self._delivered]

    def reset(self) -> None:
        """Forget requests, deliveries and queued faults."""
        with self._lock:
            self._faults.clear()
            self._requests.clear()
            self._delivered.clear()
            self._count = 0

    # -- request handling (server threads) ---------------------------------------------------
    def _next(self, fault_wanted: bool) -> tuple[int, Fault | None]:
        with self._lock:
            index = self._count
            self._count += 1
            fault = self._faults.popleft() if fault_wanted and self._faults else None
            return index, fault

    def _record(self, record: RequestRecord, delivered: Iterable[DeliveredRecord] = ()) -> None:
        with self._lock:
            self._requests.append(record)
            self._delivered.extend(delivered)
        if self._log is not None:
            recipients = ""
            if isinstance(record.body, dict):
                recipients = f" {len(record.body.get('personalizations') or ())} personalizations"
            status = record.status if record.status is not None else "dropped"
            fault = f" fault={record.fault}" if record.fault else ""
            self._log(f"{record.method} {record.path} -> {status}{recipients}"
                      f"{' id=' + record.message_id if record.message_id else ''}{fault}")

    def _handle(self, handler: _Handler) -> None:
        """Answer one request; called by the handler thread.

        Records are written before the answer goes out, so a client that has its answer can
        rely on the records being there.
        """
        raw, too_large = self._read_body(handler)
        started = time.perf_counter()
        method, path = handler.command, handler.path.split("?", 1)[0]
        index, fault = self._next(fault_wanted=method == "POST" and path == MAIL_SEND_PATH)
        record = RequestRecord(index=index, method=method, path=path, status=None,
                               size=len(raw), body=None)
        if path != MAIL_SEND_PATH or method != "POST":
            status = 404 if path != MAIL_SEND_PATH else 405
            self._record(dataclasses.replace(record, status=status))
            self._send(handler, status, [_error("not found" if status == 404 else
                                                "method not allowed")])
            return
        record = dataclasses.replace(record, body=_parse(raw))
        if fault is not None and fault.kind != "accept_then_hook":
            self._apply_fault(handler, fault, dataclasses.replace(record, fault=fault.kind))
            return
        status, errors = self._check(handler, record.body, raw, too_large)
        if status != 202:
            self._record(dataclasses.replace(
                record, status=status, errors=tuple(e["message"] for e in errors),
                seconds=time.perf_counter() - started))
            self._send(handler, status, errors)
            return
        message_id = secrets.token_urlsafe(16)
        if _sandbox(record.body):
            self._record(dataclasses.replace(record, status=200, message_id=message_id,
                                             seconds=time.perf_counter() - started))
            self._send(handler, 200, None, {"X-Message-Id": message_id})
            return
        # Only what the records keep (their newest max_records), unless a hook wants it all.
        keep = None if fault is not None and fault.hook is not None else self._delivered.maxlen
        delivered = _delivered_records(record.body, message_id, index, last=keep)
        self._record(dataclasses.replace(
            record, status=202, message_id=message_id, fault=fault.kind if fault else None,
            seconds=time.perf_counter() - started,
        ), delivered)
        if fault is not None and fault.hook is not None:
            try:
                fault.hook(AcceptedRequest(message_id, index, tuple(delivered)))
            except Exception:
                handler.close_connection = True  # accepted, but the answer is lost
                return
        self._send(handler, 202, None, {"X-Message-Id": message_id})

    def _read_body(self, handler: _Handler) -> tuple[bytes, bool]:
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length <= self.max_body_bytes:
            return handler.rfile.read(length), False
        # Drain rather than refuse unread: closing on unread bytes resets the connection and
        # the client would see a network error instead of SendGrid's 413.
        remaining = length
        while remaining > 0:
            chunk = handler.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        return b"", True

    def _check(
        self, handler: _Handler, body: Any, raw: bytes, too_large: bool
    ) -> tuple[int, list[dict[str, Any]]]:
        if handler.headers.get("Authorization") not in self._authorizations:
            return 401, [_error(INVALID_GRANT)]
        if too_large:
            return 413, [_error(f"The JSON payload you have included in your request is too "
                                f"large; the limit is {self.max_body_bytes} bytes.")]
        if body is None:
            return 400, [_error("Bad Request" if raw else "The request body is empty.")]
        try:
            errors = validate_mail_send(body, self._clock())
        except (TypeError, AttributeError, ValueError):
            # A body of the wrong shape deep down (a number where a list belongs): SendGrid
            # answers 400 rather than failing, and so must the fake.
            errors = [_error("Bad Request")]
        if errors:
            return 400, errors
        sender = body["from"]["email"].lower()
        if self._verified is not None and sender not in self._verified:
            return 403, [_error(
                "The from address does not match a verified Sender Identity. Mail cannot be "
                "sent until this error is resolved.", "from",
            )]
        return 202, []

    def _apply_fault(self, handler: _Handler, fault: Fault, record: RequestRecord) -> None:
        if fault.kind == "drop_connection":
            handler.close_connection = True
            self._record(dataclasses.replace(record, status=None))
            return
        headers: dict[str, str] = {}
        if fault.kind == "rate_limited":
            headers = {
                "X-RateLimit-Limit": str(fault.limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(self._clock() + fault.reset_in)),
            }
            errors = [_error("too many requests")]
        else:
            errors = [_error("internal server error")]
        self._record(dataclasses.replace(record, status=fault.status))
        self._send(handler, fault.status, errors, headers)

    @staticmethod
    def _send(
        handler: _Handler, status: int, errors: list[dict[str, Any]] | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        payload = b"" if errors is None else json.dumps({"errors": errors}).encode()
        handler.send_response(status)
        if payload:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if payload:
            handler.wfile.write(payload)


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)  # json.loads took 3 times as long: the fake shares the CPU
    except orjson.JSONDecodeError:
        return None


def _sandbox(body: Mapping[str, Any]) -> bool:
    settings = body.get("mail_settings")
    if not isinstance(settings, dict):
        return False
    sandbox = settings.get("sandbox_mode")
    return isinstance(sandbox, dict) and sandbox.get("enable") is True


def _delivered_records(
    body: Mapping[str, Any], message_id: str, index: int, *, last: int | None = None
) -> list[DeliveredRecord]:
    """One record per recipient of an accepted request (only the ``last`` ones if given: a
    server keeping its newest 1,000 records need not build the 1,000 before them)."""
    from_email = body["from"]["email"]
    top_subject = body.get("subject") or ""
    content = tuple((b["type"], b["value"]) for b in body.get("content") or ())
    categories = tuple(body.get("categories") or ())
    attachments = tuple((a["filename"], a.get("type", "")) for a in body.get("attachments") or ())
    top_args = body.get("custom_args") or {}
    top_subs = body.get("substitutions") or {}
    records: list[DeliveredRecord] = []
    personalizations = body["personalizations"]
    if last is not None:
        # Every personalization has at least one address (validated): the last ``last``
        # personalizations hold at least the last ``last`` recipients.
        personalizations = personalizations[-last:] if last else []
    for personalization in personalizations:
        args = {**top_args, **personalization["custom_args"]} if personalization.get(
            "custom_args") else dict(top_args)
        subs = personalization.get("substitutions") or top_subs
        subject = personalization.get("subject") or top_subject
        for kind in ("to", "cc", "bcc"):
            for address in personalization.get(kind) or ():
                records.append(DeliveredRecord(
                    email=address["email"], name=address.get("name"), message_id=message_id,
                    request_index=index, from_email=from_email, subject=subject,
                    content=content, custom_args=args, categories=categories,
                    substitutions=subs, attachments=attachments,
                ))
    if last is not None:
        return records[-last:] if last else []
    return records


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops bursts of parallel connects, which then stall for the
    # kernel's 1 s SYN retransmission.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], fake: FakeSendGrid
    ) -> None:
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so keep-alive clients (httpx) reuse connections; every answer has a length.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log: the fake keeps its own records."""


def main(argv: list[str] | None = None) -> int:
    """Run the fake in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m imrf.devtools.fake_sendgrid",
        description="A local SendGrid v3 Mail Send endpoint on 127.0.0.1 for demos and benchmarks.",
    )
    parser.add_argument("--port", type=int, default=3030, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--key", action="append", dest="keys",
                        help="an accepted API key (repeatable; default SG.test)")
    parser.add_argument("--verified-sender", action="append", dest="senders",
                        help="a verified From address (repeatable; default: any)")
    parser.add_argument("--quiet", action="store_true", help="do not print one line per request")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    fake = FakeSendGrid(
        api_keys=args.keys or ("SG.test",), verified_senders=args.senders, port=args.port,
        max_records=10_000, log=None if args.quiet else say,
    )
    try:
        fake.start()
    except OSError as error:
        print(f"fake SendGrid: cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    say(f"fake SendGrid listening on {fake.host} (POST {MAIL_SEND_PATH}); Ctrl-C stops it")
    while not stopped.wait(0.5):
        pass
    fake.stop()
    say(f"fake SendGrid stopped after {fake.request_count} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
