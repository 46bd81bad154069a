"""The envelope handed from rendering to a sender.

A milestone's message is rendered once per (edition, milestone, kind) with placeholder tokens
for the recipient's own data; each recipient then carries only its substitution values. That
is what SendGrid's personalizations expect (one request, up to 1,000 recipients, each with
their own data), and it keeps rendering 10,000 messages cheap.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from imrf.vocabulary import MessageKind


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    content: bytes


class MessageKey(BaseModel):
    """What makes a message unique in the ledger: nobody gets the same notice twice."""

    model_config = ConfigDict(frozen=True)

    edition: int
    milestone: str
    kind: MessageKind
    recipient: str  # e-mail address, lower-cased


class Personalization(BaseModel):
    """One recipient of a batch, with the values of the batch's placeholder tokens."""

    model_config = ConfigDict(frozen=True)

    email: str
    name: str
    # token -> value. Values for tokens in the HTML body are already HTML-escaped and values
    # for the text body and subject are plain text without CR/LF: the renderer owns escaping.
    substitutions: dict[str, str] = Field(default_factory=dict)
    # Extra per-recipient custom_args (e.g. the ledger's message id), merged over the batch's.
    custom_args: dict[str, str] = Field(default_factory=dict)


class MessageBatch(BaseModel):
    """One milestone's message for many recipients; a sender splits it into requests."""

    model_config = ConfigDict(frozen=True)

    edition: int
    milestone: str
    kind: MessageKind
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    categories: tuple[str, ...] = ()
    custom_args: dict[str, str] = Field(default_factory=dict)
    recipients: tuple[Personalization, ...] = ()

    def key_for(self, email: str) -> MessageKey:
        return MessageKey(
            edition=self.edition, milestone=self.milestone, kind=self.kind,
            recipient=email.lower(),
        )


class DeliveryState(StrEnum):
    """A message's state in the ledger and in a sender's report."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
