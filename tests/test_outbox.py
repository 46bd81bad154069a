"""The outbox writes one standard .eml per recipient, safely named, atomically, uninjectable."""

from __future__ import annotations

import datetime as dt
import email.policy
import os
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imrf.delivery import outbox
from imrf.delivery.base import DeliveryError, InvalidBatchError
from imrf.delivery.message import Attachment, DeliveryState, MessageBatch, Personalization
from imrf.delivery.outbox import OutboxSender, file_name
from imrf.vocabulary import MessageKind

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
FIXED = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def make_batch(*people: Personalization, **overrides: object) -> MessageBatch:
    fields: dict[str, object] = {
        "edition": 2026, "milestone": "hearing", "kind": MessageKind.REMINDER,
        "subject": "Hearing: {{name}}", "text": "Dear {{name}},\nthe hearing is near.",
        "html": "<p>Dear {{name}},</p>",
        "attachments": (Attachment(filename="hearing.ics",
                                   content_type="text/calendar; method=PUBLISH", content=ICS),),
        "categories": ("imrf", "reminder"),
        "custom_args": {"edition": "2026", "milestone": "hearing"},
        "recipients": people or (
            Personalization(email="Ana@Example.org", name="Ana Silva",
                            substitutions={"{{name}}": "Ana"}, custom_args={"ledger_id": "7"}),
            Personalization(email="bo@example.org", name="Bo",
                            substitutions={"{{name}}": "Bo & co"}),
        ),
    }
    fields.update(overrides)
    return MessageBatch(**fields)  # type: ignore[arg-type]


@pytest.fixture
def sender(tmp_path: Path) -> OutboxSender:
    return OutboxSender(tmp_path / "outbox", "imrf@un.org", "IMRF secretariat",
                        clock=lambda: FIXED)


def read(path: Path) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def eml_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.eml"))


def test_writes_one_parseable_eml_per_recipient(sender: OutboxSender) -> None:
    report = sender.send(make_batch())

    assert report.states == {"ana@example.org": DeliveryState.SENT,
                             "bo@example.org": DeliveryState.SENT}
    files = eml_files(sender.directory)
    assert [f.name for f in files] == ["2026-hearing-reminder-ana@example.org.eml",
                                       "2026-hearing-reminder-bo@example.org.eml"]
    raw = files[0].read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # SMTP line endings
    message = read(files[0])
    assert message["From"] == "IMRF secretariat <imrf@un.org>"
    assert message["To"] == "Ana Silva <Ana@Example.org>"
    assert message["Subject"] == "Hearing: Ana"
    assert message["Date"] == "Mon, 02 Mar 2026 14:00:00 +0000"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@un.org>")
    assert message["X-IMRF-Edition"] == "2026"
    assert message["X-IMRF-Milestone"] == "hearing"
    assert message["X-IMRF-Ledger-Id"] == "7"
    assert message["X-IMRF-Categories"] == "imrf, reminder"
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Dear Ana,\nthe hearing is near.\n"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and html.get_content().strip() == "<p>Dear Ana,</p>"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "hearing.ics"
    assert attachment.get_payload(decode=True) == ICS


def test_substitutions_are_per_recipient(sender: OutboxSender) -> None:
    sender.send(make_batch())
    bo = read(eml_files(sender.directory)[1])
    assert bo["Subject"] == "Hearing: Bo & co"
    assert "X-IMRF-Ledger-Id" not in bo


def test_sending_again_replaces_instead_of_duplicating(sender: OutboxSender) -> None:
    sender.send(make_batch())
    first_id = read(eml_files(sender.directory)[0])["Message-ID"]
    sender.send(make_batch(subject="Changed: {{name}}"))
    files = eml_files(sender.directory)
    assert len(files) == 2
    assert read(files[0])["Subject"] == "Changed: Ana"
    assert read(files[0])["Message-ID"] == first_id  # the same message, rewritten
    assert [p.name for p in sender.directory.iterdir() if not p.name.endswith(".eml")] == []


INJECTIONS = ["x\r\nBcc: victim@evil.org", "x\nBcc: victim@evil.org", "x\rBcc: victim@evil.org",
              "x\u2028Bcc: victim@evil.org", "x\r\n\r\n<html>body takeover"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_cr_lf_in_names_subject_and_args_never_makes_a_header(
    sender: OutboxSender, payload: str
) -> None:
    person = Personalization(email="ana@example.org", name=f"Ana {payload}",
                             substitutions={"{{name}}": payload},
                             custom_args={"note": payload, f"k{payload}": "v"})
    sender.send(make_batch(person, subject=f"Hi {payload} {{{{name}}}}"))
    [path] = eml_files(sender.directory)
    head = path.read_bytes().split(b"\r\n\r\n", 1)[0]  # the body may quote it, as text
    assert b"\nBcc:" not in head and b"\rBcc:" not in head
    message = read(path)
    assert message.get_all("Bcc") is None
    assert message.defects == []
    names = [name.lower() for name in message]
    assert names.count("subject") == 1 and names.count("to") == 1
    assert all(not name.startswith("bcc") for name in names)
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["To"].addresses[0].addr_spec == "ana@example.org"
    assert "Bcc: victim@evil.org" in message["To"].addresses[0].display_name or (
        "body takeover" in message["To"].addresses[0].display_name)
    assert message["X-IMRF-Note"] == " ".join(payload.split())
    # Every header name is one we chose; a custom_args key only ever names an X-IMRF- header.
    ours = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}
    assert all(name in ours or name.startswith("x-imrf-") for name in names), names
    assert len(names) == len(ours) + 5  # edition, milestone, note, the odd key, categories


def test_a_bad_address_fails_alone(sender: OutboxSender) -> None:
    people = (Personalization(email="not an address@@x", name="X"),
              Personalization(email="ok@example.org", name="OK"))
    [chunk] = sender.send(make_batch(*people)).chunks
    assert chunk.states == {"not an address@@x": DeliveryState.FAILED,
                            "ok@example.org": DeliveryState.SENT}
    assert len(chunk.errors) == 1 and chunk.errors[0].startswith("not an address@@x: ")
    assert chunk.refused == ("not an address@@x",)
    assert [f.name for f in eml_files(sender.directory)] == [
        "2026-hearing-reminder-ok@example.org.eml"]


def test_html_only_and_text_only_messages(sender: OutboxSender) -> None:
    sender.send(make_batch(Personalization(email="a@example.org", name=""), text="",
                           attachments=()))
    message = read(eml_files(sender.directory)[0])
    assert message.get_content_type() == "text/html"
    assert message["To"] == "a@example.org"
    with pytest.raises(InvalidBatchError):
        sender.chunks(make_batch(text="", html=""))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    sender: OutboxSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender.send(make_batch())
    before = {p.name: p.read_bytes() for p in sender.directory.iterdir()}

    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(DeliveryError) as caught:
        sender.send(make_batch(subject="New {{name}}"))
    assert caught.value.retryable and "No space left" in str(caught.value)
    assert {p.name: p.read_bytes() for p in sender.directory.iterdir()} == before


def test_durable_mode_writes_the_same_files(tmp_path: Path) -> None:
    durable = OutboxSender(tmp_path, "imrf@un.org", durable=True, clock=lambda: FIXED)
    assert durable.send(make_batch()).sent == 2
    assert len(eml_files(tmp_path)) == 2


def test_a_bad_from_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an address"):
        OutboxSender(tmp_path, "imrf at un.org")


def test_names_are_sanitised_and_distinct() -> None:
    batch = make_batch()
    assert file_name(batch, "../../etc/passwd@x.org").count("/") == 0
    a, b = file_name(batch, "a/b@x.org"), file_name(batch, "a_b@x.org")
    assert a != b and b == "2026-hearing-reminder-a_b@x.org.eml"
    assert file_name(batch, "A@X.org") == file_name(batch, "a@x.org")


@settings(max_examples=300, deadline=None)
@given(recipient=st.text(min_size=1, max_size=400), milestone=st.text(min_size=1, max_size=80))
def test_file_names_are_always_safe(recipient: str, milestone: str) -> None:
    batch = make_batch(milestone=milestone)
    name = file_name(batch, recipient)
    assert name.endswith(".eml") and not name.startswith(".")
    assert "/" not in name and "\\" not in name and name not in (".eml", "..eml")
    assert all(32 < ord(ch) < 127 for ch in name)
    assert len(name.encode()) <= 255
    assert name == file_name(batch, recipient.upper()) or recipient.lower() != (
        recipient.upper().lower())


def test_outbox_writes_a_thousand(tmp_path: Path) -> None:
    people = tuple(Personalization(email=f"u{i}@example.org", name=f"User {i}",
                                   substitutions={"{{name}}": f"User {i}"}) for i in range(1000))
    sender = OutboxSender(tmp_path, "imrf@un.org", clock=lambda: FIXED)
    assert sender.send(make_batch(*people)).sent == 1000
    assert len(eml_files(tmp_path)) == 1000
    assert outbox.MAX_STEM < 255
