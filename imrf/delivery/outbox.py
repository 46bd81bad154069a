"""Delivery into a local directory: one RFC 5322 ``.eml`` file per recipient.

For development, demos and offline runs: any mail client opens the files. A file's name is
derived from what makes a message unique in the ledger (edition, milestone, kind, recipient),
so sending the same message again replaces its file instead of adding a second one. Files are
written to a temporary name and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import datetime as dt
import email.errors
import email.policy
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from imrf.delivery.base import (
    MAX_PERSONALIZATIONS,
    ChunkResult,
    DeliveryError,
    InvalidBatchError,
    Sender,
    one_line,
    split_recipients,
    substitute,
)
from imrf.delivery.message import DeliveryState, MessageBatch, Personalization

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._@+=-]+")
_UNSAFE_IN_HEADER_NAME = re.compile(r"[^A-Za-z0-9]+")
MAX_STEM = 150  # well under the 255 bytes most file systems allow, leaving room for a hash


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _CachingHeaderRegistry(HeaderRegistry):
    """The standard registry, minus building a new header class for every header it parses.

    ``HeaderRegistry.__getitem__`` creates a class per call; for 10,000 messages of a dozen
    headers that was a quarter of the outbox's time. The classes are stateless, so one per
    header name serves every message.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


# SMTP's rules (CRLF line ends, 78-column folding), with the faster registry.
POLICY = email.policy.SMTP.clone(header_factory=_CachingHeaderRegistry())


class OutboxSender(Sender):
    """Writes each recipient's message as ``<directory>/<edition>-<milestone>-<kind>-<to>.eml``."""

    def __init__(
        self,
        directory: Path,
        from_email: str,
        from_name: str = "IMRF review cycle",
        *,
        durable: bool = False,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        """``durable=True`` also fsyncs every file and the directory (slower; survives a power
        cut, not just a crash of this process)."""
        try:
            self._from = Address(display_name=header_text(from_name),
                                 addr_spec=one_line(from_email))
        except (ValueError, email.errors.MessageError) as error:
            raise ValueError(f"from_email {from_email!r} is not an address: {error}") from None
        self.directory = Path(directory)
        self.from_email = self._from.addr_spec
        self.durable = durable
        self._clock = clock

    def __repr__(self) -> str:
        return f"OutboxSender(directory={str(self.directory)!r}, from_email={self.from_email!r})"

    def chunks(self, batch: MessageBatch) -> list[MessageBatch]:
        """Chunks of the same size as SendGrid's, so the ledger sees the same shape."""
        if not batch.text and not batch.html:
            raise InvalidBatchError(f"batch {batch.edition}/{batch.milestone}/{batch.kind}: both "
                                    "the text and the HTML body are empty")
        return split_recipients(batch, MAX_PERSONALIZATIONS)

    def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
        """Write one file per recipient; a recipient whose address cannot be used fails alone."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DeliveryError(f"cannot create the outbox {self.directory}: {error}",
                                retryable=True) from None
        shared = self._shared(chunk)
        states: dict[str, DeliveryState] = {}
        errors: list[str] = []
        for recipient in chunk.recipients:
            key = recipient.email.lower()
            try:
                message = self._compose(chunk, recipient, shared)
                data = message.as_bytes(policy=POLICY)
                check_headers(data, one_line(recipient.email))
            except (ValueError, UnicodeError, email.errors.MessageError) as error:
                states[key] = DeliveryState.FAILED
                errors.append(f"{recipient.email}: {error}")
                continue
            path = self.directory / file_name(chunk, recipient.email)
            try:
                _write_atomic(path, data, durable=self.durable)
            except OSError as error:
                raise DeliveryError(
                    f"cannot write {path}: {error}", retryable=True,
                    maybe_delivered=bool(states),
                ) from None
            states[key] = DeliveryState.SENT
        if self.durable:
            _fsync_directory(self.directory)
        refused = tuple(k for k, state in states.items() if state is DeliveryState.FAILED)
        return ChunkResult(states=states, errors=tuple(errors), refused=refused)

    def build_message(self, batch: MessageBatch, recipient: Personalization) -> EmailMessage:
        """The message ``recipient`` receives, substitutions applied."""
        return self._compose(batch, recipient, self._shared(batch))

    def _shared(self, batch: MessageBatch) -> _Shared:
        # Parsing headers and encoding attachments is most of the email package's cost; what
        # is the same for every recipient of a chunk is done once and reused.
        probe = EmailMessage(policy=POLICY)
        probe["From"] = self._from
        probe["Date"] = format_datetime(self._clock())
        categories = [header_text(c) for c in batch.categories if header_text(c)]
        if categories:
            probe["X-IMRF-Categories"] = ", ".join(categories)
        args = _arg_headers(probe, batch.custom_args)
        attachments = []
        for attachment in batch.attachments:
            maintype, subtype, params = _content_type(attachment.content_type)
            part = MIMEPart(policy=POLICY)
            part.set_content(
                attachment.content, maintype=maintype, subtype=subtype, disposition="attachment",
                filename=one_line(attachment.filename) or "attachment", params=params,
            )
            attachments.append(part)
        return _Shared(
            sender=probe["From"], date=probe["Date"], categories=probe["X-IMRF-Categories"],
            args=args, attachments=attachments,
        )

    def _compose(
        self, batch: MessageBatch, recipient: Personalization, shared: _Shared
    ) -> EmailMessage:
        subs = recipient.substitutions
        message = EmailMessage(policy=POLICY)
        message["From"] = shared.sender
        # Header values go through one_line and the email package's own folding: a CR/LF in a
        # name or subject can never open a header of its own.
        message["To"] = Address(display_name=header_text(recipient.name),
                                addr_spec=one_line(recipient.email))
        message["Subject"] = header_text(substitute(batch.subject, subs))
        message["Date"] = shared.date
        message["Message-ID"] = message_id(batch, recipient.email, self.from_email)
        args = {**shared.args, **_arg_headers(message, recipient.custom_args)}
        for name, header in args.items():
            del message[name]
            message[name] = header
        if shared.categories is not None:
            message["X-IMRF-Categories"] = shared.categories
        text, html = substitute(batch.text, subs), substitute(batch.html, subs)
        if text:
            message.set_content(text)
            if html:
                message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
        if shared.attachments:
            message.make_mixed()
            for part in shared.attachments:
                message.attach(part)  # type: ignore[arg-type]  # typeshed wants EmailMessage; any MIMEPart works
        return message


def header_text(value: str) -> str:
    """``value`` for a header: one line, and no RFC 2047 encoded word.

    The email package decodes an encoded word (``=?utf-8?b?...?=``) in a value it is given
    and, in Python 3.11, writes a CR/LF it decoded as a real line break: a name could open a
    ``Bcc:`` header of its own. ``=?`` never starts one once a space splits it.
    """
    return one_line(value).replace("=?", "= ?")


def check_headers(data: bytes, recipient: str) -> None:
    """Refuse a serialised message whose header block is not what we wrote: one ``To``
    holding exactly ``recipient``, and no recipient header besides it (defence in depth:
    whatever slips past :func:`header_text` is caught here, not mailed)."""
    headers = BytesHeaderParser(policy=POLICY).parsebytes(data)
    names = {name.lower() for name in headers}
    if names & {"cc", "bcc", "reply-to", "sender", "resent-to", "resent-cc", "resent-bcc"}:
        raise ValueError("the message would carry a recipient header it was not given")
    to: list[Any] = headers.get_all("To") or []
    addresses: tuple[Any, ...] = to[0].addresses if len(to) == 1 else ()
    if len(addresses) != 1 or addresses[0].addr_spec.lower() != recipient.lower():
        raise ValueError("the To header does not hold exactly the recipient")


@dataclass(frozen=True)
class _Shared:
    sender: Any
    date: Any
    categories: Any
    args: dict[str, Any]  # header name -> parsed header
    attachments: list[MIMEPart]


def _arg_headers(probe: EmailMessage, custom_args: dict[str, str]) -> dict[str, Any]:
    """custom_args as parsed ``X-IMRF-*`` headers; a key only ever names an X-IMRF- header."""
    headers = {}
    for key, value in custom_args.items():
        name = "-".join(part.capitalize() for part in _UNSAFE_IN_HEADER_NAME.split(key) if part)
        if name:
            name = f"X-IMRF-{name}"
            probe[name] = header_text(value)
            headers[name] = probe[name]
            del probe[name]
    return headers


def file_name(batch: MessageBatch, recipient: str) -> str:
    """A safe, stable file name for the message of ``batch`` to ``recipient``.

    Characters outside a conservative set become ``_``; whenever that (or truncation) changed
    the name, a hash of the exact key is appended so two recipients never share a file.
    """
    key = f"{batch.edition}-{batch.milestone}-{batch.kind}-{recipient.lower()}"
    stem = _UNSAFE_IN_NAME.sub("_", key).lstrip(".")[:MAX_STEM]
    if stem != key:
        stem = f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    return f"{stem}.eml"


def message_id(batch: MessageBatch, recipient: str, from_email: str) -> str:
    """The same Message-ID every time the same message is written (it is the same message)."""
    key = f"{batch.edition}|{batch.milestone}|{batch.kind}|{recipient.lower()}"
    domain = _UNSAFE_IN_NAME.sub("-", from_email.rpartition("@")[2]) or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.imrf@{domain}>"


def _content_type(value: str) -> tuple[str, str, dict[str, str]]:
    # Let the email package parse "text/calendar; method=PUBLISH" rather than split by hand.
    probe = EmailMessage()
    probe["Content-Type"] = one_line(value) or "application/octet-stream"
    params = {k: v for k, v in (probe.get_params(header="content-type") or [])[1:] if v}
    return probe.get_content_maintype(), probe.get_content_subtype(), params


def _write_atomic(path: Path, data: bytes, *, durable: bool) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
