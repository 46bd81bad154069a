"""The sender port: what every delivery backend (SendGrid, the local outbox) promises.

A batch is delivered in request-sized chunks so that the caller can keep its ledger exact per
request: mark a chunk's rows ``unknown`` just before ``send_chunk`` and record the returned
states just after. A crash in between then leaves ``unknown`` rows (maybe delivered, never
blindly re-sent) instead of a guess.
"""

from __future__ import annotations

import abc
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from imrf.delivery.message import DeliveryState, MessageBatch, Personalization

if TYPE_CHECKING:
    from imrf.notify import NotifySummary

# SendGrid's ceilings per request (facts §6); the outbox honours them too so both backends
# hand the ledger chunks of the same shape.
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000


class ChunkResult(BaseModel):
    """What one request (or one outbox write) did for every recipient of a chunk."""

    model_config = ConfigDict(frozen=True)

    message_id: str | None = None
    status: int | None = None  # the HTTP status of the final attempt; None for the outbox
    states: dict[str, DeliveryState]  # lower-cased e-mail -> state
    errors: tuple[str, ...] = ()  # the provider's own messages when the chunk failed
    # Recipients the provider's errors point at (e.g. an invalid address), when it says: the
    # rest of a failed chunk may be sent again without them.
    refused: tuple[str, ...] = ()
    attempts: int = 1
    waited: float = 0.0  # seconds spent waiting between attempts
    # Attempts whose outcome is unknown (the connection was lost after the request went out):
    # when > 0 and the chunk was later accepted, a recipient may have got the message twice.
    ambiguous_attempts: int = 0
    sandbox: bool = False  # accepted in sandbox mode: validated, nothing delivered

    def count(self, state: DeliveryState) -> int:
        """How many recipients of this chunk ended in ``state``."""
        return sum(1 for s in self.states.values() if s is state)


class BatchReport(BaseModel):
    """The chunks of one batch, in order, as ``Sender.send`` returns them."""

    model_config = ConfigDict(frozen=True)

    chunks: tuple[ChunkResult, ...] = ()

    @property
    def states(self) -> dict[str, DeliveryState]:
        """Every recipient's state (lower-cased e-mail -> state)."""
        merged: dict[str, DeliveryState] = {}
        for chunk in self.chunks:
            merged.update(chunk.states)
        return merged

    @property
    def sent(self) -> int:
        return sum(chunk.count(DeliveryState.SENT) for chunk in self.chunks)

    @property
    def failed(self) -> int:
        return sum(chunk.count(DeliveryState.FAILED) for chunk in self.chunks)

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(error for chunk in self.chunks for error in chunk.errors)


class DeliveryError(Exception):
    """A chunk could not be delivered.

    ``retryable`` says whether trying the same chunk later may succeed (rate limit, outage,
    lost connection) or not (bad key, unverified sender, invalid batch). ``partial`` is set
    by ``Sender.send`` to the chunks already handled before the error, and ``summary`` by
    ``Notifier.notify`` to what its fan-out did until then, so none is forgotten.
    Messages never contain the API key: it is not known to this class.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        retryable: bool = False,
        messages: tuple[str, ...] = (),
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.retryable = retryable
        self.messages = messages
        # True when a request may have been accepted although no answer came back: leave its
        # recipients "unknown" rather than "pending", or they may get the message twice.
        self.maybe_delivered = maybe_delivered
        self.partial: BatchReport | None = None
        # Set by the Notifier: what its fan-out did before this error (sent, unknown, …).
        self.summary: NotifySummary | None = None

    def __str__(self) -> str:
        return self.message


class AuthenticationError(DeliveryError):
    """401: the API key was refused; nothing will get through until it is fixed."""


class SenderIdentityError(DeliveryError):
    """403: the From address is not a verified sender identity."""


class BadRequestError(DeliveryError):
    """400: the provider refused the request's content; retrying the same request is useless."""


class RateLimitedError(DeliveryError):
    """429 with a reset further away than the sender is allowed to wait."""

    def __init__(
        self, message: str, *, reset_at: float | None, status: int = 429, body: str | None = None
    ) -> None:
        super().__init__(message, status=status, body=body, retryable=True)
        self.reset_at = reset_at  # epoch seconds when SendGrid said the limit resets


class InvalidBatchError(DeliveryError):
    """The batch breaks a provider limit before anything is sent (e.g. 11 categories)."""


class Sender(abc.ABC):
    """A delivery backend. Implement ``chunks`` and ``send_chunk``; ``send`` loops over them."""

    @abc.abstractmethod
    def chunks(self, batch: MessageBatch) -> list[MessageBatch]:
        """Split ``batch`` into request-sized batches (each recipient in exactly one).

        Raises ``InvalidBatchError`` when the batch can never be sent as it is, before anything
        is delivered.
        """

    @abc.abstractmethod
    def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
        """Deliver one chunk (as returned by ``chunks``) and say what became of each recipient.

        A chunk the provider refuses for its content comes back with every state ``failed`` and
        the provider's messages; errors that concern the whole account or a passing outage are
        raised as ``DeliveryError`` (see ``retryable``).
        """

    def send(self, batch: MessageBatch) -> BatchReport:
        """Deliver a whole batch, chunk by chunk.

        On a ``DeliveryError`` the chunks already done are attached to it as ``partial``.
        """
        done: list[ChunkResult] = []
        for chunk in self.chunks(batch):
            try:
                done.append(self.send_chunk(chunk))
            except DeliveryError as error:
                error.partial = BatchReport(chunks=tuple(done))
                raise
        return BatchReport(chunks=tuple(done))


def unique_recipients(batch: MessageBatch) -> list[Personalization]:
    """The batch's recipients, each address once (case-insensitively), first one kept.

    The ledger keys messages by the lower-cased address, and SendGrid refuses an address
    repeated within a request, so a repeat can only be a mistake upstream.
    """
    seen: set[str] = set()
    unique = []
    for recipient in batch.recipients:
        key = recipient.email.lower()
        if key not in seen:
            seen.add(key)
            unique.append(recipient)
    return unique


def split_recipients(
    batch: MessageBatch,
    size: int = MAX_PERSONALIZATIONS,
    *,
    budget: int | None = None,
    weigh: Callable[[Personalization], int] | None = None,
) -> list[MessageBatch]:
    """Split ``batch`` into batches of at most ``size`` unique recipients.

    With ``budget`` and ``weigh``, a batch also closes before its recipients' weights add up
    to more than ``budget`` (e.g. bytes of a request body), with at least one recipient each.
    """
    chunks: list[MessageBatch] = []
    current: list[Personalization] = []
    used = 0
    for recipient in unique_recipients(batch):
        weight = weigh(recipient) if weigh is not None else 0
        full = len(current) >= size or (
            budget is not None and current and used + weight > budget
        )
        if full:
            chunks.append(batch.model_copy(update={"recipients": tuple(current)}))
            current, used = [], 0
        current.append(recipient)
        used += weight
    if current:
        chunks.append(batch.model_copy(update={"recipients": tuple(current)}))
    return chunks


def json_size_at_least(mapping: Mapping[str, object], limit: int) -> bool:
    """Whether ``mapping`` serialised as JSON takes ``limit`` bytes or more.

    Serialising one object per recipient would dominate a 10,000-recipient batch, so first a
    cheap bound: no character takes more than 6 bytes in JSON (a \\uXXXX escape).
    """
    chars = sum(map(len, map(str, mapping))) + sum(map(len, map(str, mapping.values())))
    if 6 * chars + 6 * len(mapping) + 2 < limit:
        return False
    encoded = json.dumps(mapping, ensure_ascii=False, separators=(",", ":")).encode()
    return len(encoded) >= limit


_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
# A character one_line would change: a line break or control character, or white space other
# than " " (what str.isspace() accepts beyond it and the controls).
_NOT_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f\x85\u2028\u2029\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def one_line(value: str) -> str:
    """``value`` with line breaks and control characters turned into single spaces.

    Whatever goes into a header (a name, a subject) passes through here, so a stray CR/LF can
    never start a header of its own.
    """
    if (_NOT_ONE_LINE.search(value) is None and "  " not in value
            and value[:1] != " " and value[-1:] != " "):
        return value  # most values: one scan instead of a substitution, a split and a join
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


@functools.lru_cache(maxsize=256)
def _token_pattern(tokens: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so a token that is a prefix of another never wins the match.
    ordered = sorted(tokens, key=len, reverse=True)
    return re.compile("|".join(re.escape(token) for token in ordered))


def substitute(text: str, substitutions: Mapping[str, str]) -> str:
    """Replace every token of ``substitutions`` in ``text`` in one pass, as SendGrid does.

    One pass means a value that happens to contain another token is not substituted again.
    """
    tokens = tuple(token for token in substitutions if token)
    if not tokens or not text:
        return text
    pattern = _token_pattern(tuple(sorted(tokens)))
    return pattern.sub(lambda match: substitutions[match.group(0)], text)
