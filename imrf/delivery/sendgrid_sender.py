"""Delivery through SendGrid's v3 Mail Send API with the official client.

One personalization per recipient, so nobody sees another's address and each gets their own
substitutions and custom_args (the batch's custom_args go once at the message level, where
SendGrid merges them into each personalization's). The request body is built as a plain
dict: the client's ``Mail`` helper objects cost more than the request itself for 1,000
recipients.

The client has no retry of its own (facts §6); the policy here: 429 waits until SendGrid's
``X-RateLimit-Reset``; 5xx and lost connections back off exponentially with jitter; 400 fails
the chunk with SendGrid's messages; 401/403 stop at once. The API key lives in a ``SecretStr``
and never reaches a message, a repr or a log line (the client's own debug log is redacted).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import random
import re
import socket
import time
import urllib.error
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import SecretStr
from python_http_client.exceptions import HTTPError as ClientHTTPError

from imrf.delivery.base import (
    MAX_PERSONALIZATIONS,
    AuthenticationError,
    ChunkResult,
    DeliveryError,
    InvalidBatchError,
    RateLimitedError,
    Sender,
    SenderIdentityError,
    json_size_at_least,
    one_line,
    split_recipients,
)
from imrf.delivery.message import DeliveryState, MessageBatch, Personalization

GLOBAL_HOST = "https://api.sendgrid.com"
EU_HOST = "https://api.eu.sendgrid.com"
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SUBSTITUTIONS_BYTES = 10_000
# SendGrid refuses bodies of 30 MB; stay clear of it since our estimate is only a bound.
MAX_REQUEST_BYTES = 28 * 1024 * 1024
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

logger = logging.getLogger(__name__)


class _RedactClientLog(logging.Filter):
    """Keep the key and recipients' data out of python_http_client's debug log.

    That client logs the request headers (with ``Authorization: Bearer <key>``) and the whole
    payload at DEBUG; anyone who turns DEBUG on for a diagnosis would otherwise leak both.
    """

    _bearer = re.compile(r"Bearer\s+[^'\"\s,}]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("PAYLOAD:"):
            message = f"PAYLOAD: [{len(message) - 9} characters, not logged]"
        message = self._bearer.sub("Bearer [redacted]", message)
        record.msg, record.args = message, None
        return True


def _install_log_redaction() -> None:
    client_logger = logging.getLogger("python_http_client.client")
    if not any(isinstance(f, _RedactClientLog) for f in client_logger.filters):
        client_logger.addFilter(_RedactClientLog())


_install_log_redaction()


class SendGridSender(Sender):
    """Delivers batches through SendGrid, retrying what is worth retrying."""

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        from_email: str,
        from_name: str = "IMRF review cycle",
        host: str = GLOBAL_HOST,
        sandbox: bool = False,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_rate_limit_wait: float = 300.0,
        timeout: float = 60.0,
        retry_ambiguous: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Build a sender; nothing is sent until ``send``/``send_chunk``.

        ``host`` is ``GLOBAL_HOST``, ``EU_HOST`` (EU data residency) or a local fake.
        ``retry_ambiguous=False`` gives at-most-once delivery: a request whose connection was
        lost after it went out is not sent again (SendGrid may have accepted it); the error
        says ``maybe_delivered`` so the caller leaves those recipients ``unknown``.
        """
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not key.get_secret_value().strip():
            raise ValueError("the SendGrid API key is empty: set SENDGRID_API_KEY")
        if "@" not in from_email or one_line(from_email) != from_email:
            raise ValueError(f"from_email {from_email!r} is not an e-mail address")
        if not host.startswith(("https://", "http://")):
            raise ValueError(f"host {host!r} must start with https:// (http:// for a local fake)")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._api_key = key
        self.from_email = from_email
        self.from_name = one_line(from_name)
        self.host = host.rstrip("/")
        self.sandbox = sandbox
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_rate_limit_wait = max_rate_limit_wait
        self.timeout = timeout
        self.retry_ambiguous = retry_ambiguous
        self._sleep = sleep
        self._clock = clock
        self._on_wait = on_wait
        self._rng = rng or random.Random()
        self._client: Any = None

    def __repr__(self) -> str:
        return (f"SendGridSender(host={self.host!r}, from_email={self.from_email!r}, "
                f"sandbox={self.sandbox}, api_key={self._api_key!r})")

    def _mail_send(self) -> Any:
        if self._client is None:
            # Imported here: the client pulls in its Mail helpers, which a CLI --help need not.
            from sendgrid import SendGridAPIClient

            self._client = SendGridAPIClient(
                api_key=self._api_key.get_secret_value(), host=self.host
            )
            # Not exactly "application/json": then the client posts our encoded body as it
            # is instead of running json.dumps over it (see _encode).
            self._client.client.request_headers["Content-Type"] = JSON_CONTENT_TYPE
        return self._client.client.mail.send

    # -- the port --------------------------------------------------------------------------
    def chunks(self, batch: MessageBatch) -> list[MessageBatch]:
        """Requests of ≤1,000 recipients and under 30 MB; refuse a batch SendGrid would."""
        weights = self._check_batch(batch)
        base = len(_encode(self.request_body(batch.model_copy(update={"recipients": ()})))
                   .encode())
        if base >= MAX_REQUEST_BYTES:
            raise InvalidBatchError(
                f"batch {batch.edition}/{batch.milestone}/{batch.kind}: the message and its "
                f"attachments take {base / 2**20:.1f} MB as JSON; SendGrid refuses 30 MB"
            )
        return split_recipients(
            batch, MAX_PERSONALIZATIONS, budget=MAX_REQUEST_BYTES - base,
            weigh=lambda recipient: weights[id(recipient)],
        )

    def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
        """Send one request for ``chunk``, retrying per the policy in the module docstring."""
        if len(chunk.recipients) > MAX_PERSONALIZATIONS:
            raise InvalidBatchError(
                f"a chunk has {len(chunk.recipients)} recipients; SendGrid takes at most "
                f"{MAX_PERSONALIZATIONS} per request: use chunks() first"
            )
        body = _encode(self.request_body(chunk))
        emails = [recipient.email.lower() for recipient in chunk.recipients]
        attempts, waited, ambiguous = 0, 0.0, 0
        while True:
            attempts += 1
            try:
                response = self._mail_send().post(request_body=body, timeout=self.timeout)
            except ClientHTTPError as error:
                status = int(error.status_code)
                text = _text(error.body)
                messages = _messages(text)
                if status in (400, 413):
                    return ChunkResult(
                        status=status, states=dict.fromkeys(emails, DeliveryState.FAILED),
                        errors=messages or (f"SendGrid refused the request ({status})",),
                        refused=_refused(text, chunk),
                        attempts=attempts, waited=waited, ambiguous_attempts=ambiguous,
                    )
                self._raise_for_account(status, text, messages)
                if status == 429:
                    delay = self._rate_limit_delay(error.headers, attempts, text)
                    reason = "SendGrid rate limit reached (429)"
                elif status >= 500:
                    delay = self._backoff(attempts)
                    reason = f"SendGrid server error ({status})"
                else:
                    raise DeliveryError(
                        f"SendGrid answered {status} to {self.host}/v3/mail/send: "
                        f"{'; '.join(messages) or text[:200]}",
                        status=status, body=text, messages=messages,
                    ) from None
                last_status: int | None = status
            except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
                maybe_sent = not _never_left(error)
                ambiguous += maybe_sent
                reason = f"connection to SendGrid failed ({_describe(error)})"
                if maybe_sent and not self.retry_ambiguous:
                    raise self._gave_up(
                        f"{reason}; not retried, SendGrid may have accepted it", attempts, None,
                        ambiguous, retryable=False,
                    ) from None
                delay = self._backoff(attempts)
                last_status = None
            else:
                return ChunkResult(
                    message_id=response.headers.get("X-Message-Id"),
                    status=response.status_code,
                    states=dict.fromkeys(emails, DeliveryState.SENT),
                    attempts=attempts, waited=waited, ambiguous_attempts=ambiguous,
                    sandbox=self.sandbox,
                )
            if attempts >= self.max_attempts:
                raise self._gave_up(reason, attempts, last_status, ambiguous)
            note = (f"{reason}; retrying {len(emails)} recipients in {delay:.1f} s "
                    f"(attempt {attempts + 1} of {self.max_attempts})")
            logger.warning(note)
            if self._on_wait is not None:
                self._on_wait(note)
            self._sleep(delay)
            waited += delay

    # -- request body ----------------------------------------------------------------------
    def request_body(self, chunk: MessageBatch) -> dict[str, Any]:
        """The Mail Send JSON for ``chunk`` (one personalization per recipient)."""
        personalizations = []
        for recipient in chunk.recipients:
            to: dict[str, str] = {"email": recipient.email}
            name = _recipient_name(recipient.name)
            if name:
                to["name"] = name
            personalization: dict[str, Any] = {"to": [to]}
            if recipient.substitutions:
                personalization["substitutions"] = recipient.substitutions
            if recipient.custom_args:
                personalization["custom_args"] = recipient.custom_args
            personalizations.append(personalization)
        sender = {"email": self.from_email}
        if self.from_name:
            sender["name"] = self.from_name
        body: dict[str, Any] = {
            "personalizations": personalizations,
            "from": sender,
            "subject": one_line(chunk.subject),
            "content": [
                {"type": kind, "value": value}
                for kind, value in (("text/plain", chunk.text), ("text/html", chunk.html))
                if value
            ],
        }
        if chunk.attachments:
            body["attachments"] = [
                {
                    "content": base64.b64encode(attachment.content).decode("ascii"),
                    "type": one_line(attachment.content_type),
                    "filename": one_line(attachment.filename),
                    "disposition": "attachment",
                }
                for attachment in chunk.attachments
            ]
        if chunk.custom_args:
            # Once for the request: SendGrid merges them into every personalization's own
            # (which win on a conflict). Repeated per recipient they were a fifth of the body.
            body["custom_args"] = dict(chunk.custom_args)
        categories = _categories(chunk)
        if categories:
            body["categories"] = categories
        if self.sandbox:
            body["mail_settings"] = {"sandbox_mode": {"enable": True}}
        return body

    # -- helpers ---------------------------------------------------------------------------
    def _check_batch(self, batch: MessageBatch) -> dict[int, int]:
        """Refuse what SendGrid would refuse; return each recipient's weight (by ``id``)."""
        where = f"batch {batch.edition}/{batch.milestone}/{batch.kind}"
        if not one_line(batch.subject):
            raise InvalidBatchError(f"{where}: the subject is empty")
        if not batch.text and not batch.html:
            raise InvalidBatchError(f"{where}: both the text and the HTML body are empty")
        categories = _categories(batch)
        if len(categories) > MAX_CATEGORIES:
            raise InvalidBatchError(
                f"{where}: {len(categories)} categories; SendGrid accepts at most "
                f"{MAX_CATEGORIES}"
            )
        for category in categories:
            if len(category) > MAX_CATEGORY_LENGTH:
                raise InvalidBatchError(f"{where}: category {category[:40]!r}… is longer than "
                                        f"{MAX_CATEGORY_LENGTH} characters")
        shared_too_big = json_size_at_least(batch.custom_args, MAX_CUSTOM_ARGS_BYTES)
        weights: dict[int, int] = {}
        for recipient in batch.recipients:
            weight = weights[id(recipient)] = _weigh(recipient)
            if (json_size_at_least({**batch.custom_args, **recipient.custom_args},
                                   MAX_CUSTOM_ARGS_BYTES)
                    if recipient.custom_args else shared_too_big):
                raise InvalidBatchError(f"{where}: custom_args for {recipient.email} reach "
                                        f"{MAX_CUSTOM_ARGS_BYTES} bytes (SendGrid's limit)")
            # The weight bounds the whole personalization: most need no closer look.
            if (weight >= MAX_SUBSTITUTIONS_BYTES
                    and json_size_at_least(recipient.substitutions, MAX_SUBSTITUTIONS_BYTES)):
                raise InvalidBatchError(f"{where}: substitutions for {recipient.email} reach "
                                        f"{MAX_SUBSTITUTIONS_BYTES} bytes (SendGrid's limit)")
        return weights

    def _raise_for_account(self, status: int, text: str, messages: tuple[str, ...]) -> None:
        said = f" (SendGrid said: {'; '.join(messages)})" if messages else ""
        if status == 401:
            raise AuthenticationError(
                f"SendGrid rejected the API key (401): check SENDGRID_API_KEY{said}",
                status=status, body=text, messages=messages,
            ) from None
        if status == 403:
            raise SenderIdentityError(
                f"SendGrid refused the sender identity {self.from_email} (403): verify it in "
                f"SendGrid{said}", status=status, body=text, messages=messages,
            ) from None

    def _rate_limit_delay(self, headers: Any, attempts: int, text: str) -> float:
        reset_at = _reset_at(headers, self._clock())
        if reset_at is None:
            return self._backoff(attempts)
        delay = max(reset_at - self._clock(), 0.0)
        if delay > self.max_rate_limit_wait:
            when = time.strftime("%H:%M:%S UTC", time.gmtime(reset_at))
            raise RateLimitedError(
                f"SendGrid rate limit reached (429) until {when}, {delay:.0f} s away: longer "
                f"than the {self.max_rate_limit_wait:.0f} s this sender may wait; retry later",
                reset_at=reset_at, body=text,
            )
        # Never hammer: a reset already past (clock skew, rounding) still gets a short pause.
        return max(delay, self.backoff_base)

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempts - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    @staticmethod
    def _gave_up(
        reason: str, attempts: int, status: int | None, ambiguous: int, *, retryable: bool = True
    ) -> DeliveryError:
        return DeliveryError(
            f"{reason}; gave up after {attempts} attempt{'s' if attempts > 1 else ''}",
            status=status, retryable=retryable, maybe_delivered=ambiguous > 0,
        )


def _encode(body: dict[str, Any]) -> str:
    """The request body as JSON text, by orjson: json.dumps took 5 ms for a 1,000-recipient
    request, 17 times orjson's, in the sending threads that share the interpreter's lock
    with the notifier. A string orjson refuses (a lone surrogate) goes through json."""
    try:
        return orjson.dumps(body).decode()
    except orjson.JSONEncodeError:
        return json.dumps(body)


def _weigh(recipient: Personalization) -> int:
    # An upper bound of the personalization's JSON: no character takes more than 6 bytes
    # (a \uXXXX escape; UTF-8 as _encode writes it takes at most 4).
    subs, args = recipient.substitutions, recipient.custom_args
    chars = (len(recipient.email) + len(recipient.name)
             + sum(map(len, subs)) + sum(map(len, subs.values()))
             + sum(map(len, args)) + sum(map(len, args.values())))
    return 6 * chars + 40 * (len(subs) + len(args)) + 200


def _recipient_name(name: str) -> str:
    # SendGrid refuses ";" and "," in to.name (Mail Send limitations).
    return one_line(name.replace(";", " ").replace(",", " "))


def _categories(batch: MessageBatch) -> list[str]:
    return list(dict.fromkeys(one_line(c) for c in batch.categories if one_line(c)))


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return "" if body is None else str(body)


def _messages(text: str) -> tuple[str, ...]:
    """SendGrid's own error messages from an error body, with the field they concern."""
    try:
        errors = json.loads(text).get("errors") or []
    except (ValueError, AttributeError):
        return ()
    messages = []
    for error in errors:
        if isinstance(error, dict) and error.get("message"):
            field = f" [{error['field']}]" if error.get("field") else ""
            messages.append(f"{error['message']}{field}")
    return tuple(messages)


_PERSONALIZATION_FIELD = re.compile(r"^personalizations\.(\d+)\b")


def _refused(text: str, chunk: MessageBatch) -> tuple[str, ...]:
    """The recipients whose personalization SendGrid's errors name (one per personalization)."""
    try:
        errors = json.loads(text).get("errors") or []
    except (ValueError, AttributeError):
        return ()
    refused: dict[str, None] = {}
    for error in errors:
        field = error.get("field") if isinstance(error, dict) else None
        match = _PERSONALIZATION_FIELD.match(field) if isinstance(field, str) else None
        if match and int(match.group(1)) < len(chunk.recipients):
            refused[chunk.recipients[int(match.group(1))].email.lower()] = None
    return tuple(refused)


def _reset_at(headers: Any, now: float) -> float | None:
    value = headers.get("X-RateLimit-Reset") if headers is not None else None
    try:
        reset = float(str(value))
    except (TypeError, ValueError):
        return None
    # SendGrid sends epoch seconds; a small number can only be a delay in seconds.
    return reset if reset > 1e9 else now + reset


def _never_left(error: BaseException) -> bool:
    """Whether the request certainly never reached SendGrid (so a retry cannot duplicate)."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _describe(error: BaseException) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
