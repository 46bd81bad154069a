"""What a stakeholder controls cannot reach a mail header, a recipient list, markup, a template
or a spreadsheet formula.

Stakeholders supply their name, organization and address (the contacts CSV, the inputs
sidecars). The contacts import refuses control characters and line breaks; these tests go
further and hand hostile values straight to the notifier (as a row written to the database by
some other path would be), then read what leaves: the outbox's ``.eml`` files, the SendGrid
requests recorded by the local fake server, the ``.ics`` attachment.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import escape
from pydantic import SecretStr

from imrf.calendar import build_calendar
from imrf.contacts import ContactRegistry, ContactRow, SourceRow, parse_rows
from imrf.delivery.outbox import OutboxSender
from imrf.delivery.sendgrid_sender import SendGridSender
from imrf.devtools.fake_sendgrid import FakeSendGrid
from imrf.ledger import Ledger
from imrf.notify import Notifier
from imrf.store import Store
from imrf.vocabulary import Audience, MessageKind

CAL = build_calendar(2030)
KEY = "SG.attack-surface"
FROM = "no-reply@imrf.example.org"
VICTIM = "victim@example.org"
HOSTILE = [
    "Ann\r\nBcc: victim@example.org",
    "Ann\nX-Injected: 1",
    "Ann\rCc: victim@example.org",
    "Ann <victim@example.org>, Bob",
    "Ann\u2028Bcc: victim@example.org",
    "{{ 7*7 }}",
    "{% raw %}{{ 6*6 }}{% endraw %}",
    "{{ config.items() }}{% for x in range(3) %}loop{% endfor %}",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "-imrf-name-html-",
    "\u202eevil",
]
# RFC 2047 encoded words hiding "Ann\r\nBcc: victim@example.org".
ENCODED_WORDS = [
    "=?utf-8?q?Ann=0D=0ABcc:_victim@example.org?=",
    "=?utf-8?b?QW5uDQpCY2M6IHZpY3RpbUBleGFtcGxlLm9yZw==?=",
]


def hostile_contacts(values: list[str] = HOSTILE) -> list[ContactRow]:
    """One contact per hostile value in its name, and another with it in its organization."""
    people = []
    for n, value in enumerate(values):
        people.append(ContactRow.model_construct(
            email=f"name{n}@example.org", name=value, organization="Mission",
            audiences=(Audience.MEMBER_STATES,)))
        people.append(ContactRow.model_construct(
            email=f"org{n}@example.org", name="Delegate", organization=value,
            audiences=(Audience.MEMBER_STATES,)))
    return people


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'imrf.db'}")
    store.ensure_schema()
    yield store
    store.dispose()


def notify(store: Store, sender: OutboxSender | SendGridSender, milestone: str) -> None:
    notifier = Notifier(registry=ContactRegistry(store), ledger=Ledger(store), sender=sender)
    summary = notifier.notify(calendar=CAL, milestone_id=milestone, kind=MessageKind.NOTICE,
                              recipients=hostile_contacts())
    assert summary.sent == 2 * len(HOSTILE) and summary.failed == 0, summary


@pytest.fixture
def outbox(store: Store, tmp_path: Path) -> dict[str, email.message.EmailMessage]:
    """The hearing's notice (a meeting: it carries an .ics) as each hostile contact gets it."""
    directory = tmp_path / "outbox"
    notify(store, OutboxSender(directory, FROM), "hearing")
    messages = {}
    for path in directory.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        messages[str(message["To"].addresses[0].addr_spec)] = message
    assert len(messages) == 2 * len(HOSTILE)
    return messages


def raw_headers(message: email.message.EmailMessage) -> str:
    return "".join(f"{k}: {v}\n" for k, v in message.raw_items())


# --- e-mail header injection --------------------------------------------------------------


def test_outbox_no_extra_header_and_no_extra_recipient(
    outbox: dict[str, email.message.EmailMessage],
) -> None:
    expected = {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                "X-IMRF-Categories"}
    for address, message in outbox.items():
        names = set(message.keys())
        assert {n for n in names if not n.startswith("X-IMRF-")} <= expected, (address, names)
        assert not {"Bcc", "Cc", "X-Injected", "Reply-To"} & names, address
        to = message["To"]
        assert len(to.addresses) == 1 and to.addresses[0].addr_spec == address
        # Folded header lines are continuations: no line of the header block starts a header
        # that was not put there by the outbox.
        for line in raw_headers(message).splitlines():
            assert not re.match(r"(?i)(bcc|cc|x-injected):", line.strip()), line
        assert VICTIM not in str(message["To"]) or address.startswith("name")


def test_outbox_an_encoded_word_in_a_name_opens_no_header(store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "outbox"
    notifier = Notifier(registry=ContactRegistry(store), ledger=Ledger(store),
                        sender=OutboxSender(directory, FROM))
    notifier.notify(calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE,
                    recipients=hostile_contacts(ENCODED_WORDS))
    for path in directory.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert "Bcc" not in message, path.name
        assert len(message["To"].addresses) == 1 and "@" in message["To"].addresses[0].addr_spec


def test_the_import_refuses_encoded_words_in_names_and_organizations() -> None:
    """The stakeholder-facing door to the bug above: the contacts CSV."""
    for value in ENCODED_WORDS:
        parsed = parse_rows([SourceRow(2, {"email": "a@example.org", "name": value,
                                           "organization": f"Mission {value}",
                                           "audiences": "igos"})])
        assert not parsed.contacts
        assert {(e.field, "encoded word" in e.reason) for e in parsed.errors} == {
            ("name", True), ("organization", True)}
    plain = parse_rows([SourceRow(2, {"email": "a@example.org", "name": "Ann =? Bob ?=",
                                      "organization": "E=mc2?", "audiences": "igos"})])
    assert plain.contacts and not plain.errors


def test_sendgrid_an_encoded_word_in_a_name_stays_one_recipient(store: Store) -> None:
    with FakeSendGrid(api_keys=(KEY,)) as server:
        sender = SendGridSender(SecretStr(KEY), from_email=FROM, host=server.host,
                                retry_ambiguous=False, sleep=lambda s: None)
        Notifier(registry=ContactRegistry(store), ledger=Ledger(store), sender=sender).notify(
            calendar=CAL, milestone_id="sg-report", kind=MessageKind.NOTICE,
            recipients=hostile_contacts(ENCODED_WORDS))
        bodies = [r.body for r in server.requests]
    for body in bodies:
        for personalization in body["personalizations"]:
            assert len(personalization["to"]) == 1 and "bcc" not in personalization


def test_sendgrid_no_extra_recipient_or_header(store: Store) -> None:
    with FakeSendGrid(api_keys=(KEY,)) as server:
        sender = SendGridSender(SecretStr(KEY), from_email=FROM, host=server.host,
                                retry_ambiguous=False, sleep=lambda s: None)
        notify(store, sender, "hearing")
        bodies = [r.body for r in server.requests]
        delivered = server.delivered
    assert sorted(d.email for d in delivered) == sorted(c.email for c in hostile_contacts())
    for body in bodies:
        assert "headers" not in body and "reply_to" not in body
        for personalization in body["personalizations"]:
            assert set(personalization) <= {"to", "substitutions", "custom_args"}
            assert len(personalization["to"]) == 1
            to = personalization["to"][0]
            assert not re.search(r"[\r\n\u2028,;]", to.get("name", "")), to
            for token, value in personalization["substitutions"].items():
                assert not re.search(r"[\r\n\u2028]", value), (token, value)
    for record in delivered:
        assert "\n" not in record.subject and "\r" not in record.subject


# --- HTML and template injection ---------------------------------------------------------


def bodies(message: email.message.EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.mark.parametrize("field", ["name", "org"])
def test_names_and_organizations_arrive_as_text(
    outbox: dict[str, email.message.EmailMessage], field: str,
) -> None:
    for n, value in enumerate(HOSTILE):
        text, html = bodies(outbox[f"{field}{n}@example.org"])
        assert "<script" not in html and "<img" not in html
        if not re.search(r"[\x00-\x1f\u2028\u202e]", value):  # those become spaces
            assert value in text, (value, text)  # {{ 7*7 }} and {% raw %} shown as typed
            assert str(escape(value)) in html, value
        assert "looplooploop" not in text and "looplooploop" not in html
    script = HOSTILE.index("<script>alert(1)</script>")
    _, html = bodies(outbox[f"{field}{script}@example.org"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_value_equal_to_a_placeholder_token_is_not_substituted(
    outbox: dict[str, email.message.EmailMessage],
) -> None:
    token = HOSTILE.index("-imrf-name-html-")
    text, html = bodies(outbox[f"name{token}@example.org"])
    assert "-imrf-name-html-" in text and "-imrf-name-html-" in html


def test_the_ics_attachment_carries_no_recipient_data(
    outbox: dict[str, email.message.EmailMessage],
) -> None:
    for address, message in outbox.items():
        parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert len(parts) == 1, address
        ics = parts[0].get_content()
        ics = ics.decode() if isinstance(ics, bytes) else ics
        assert ics.startswith("BEGIN:VCALENDAR")
        assert address not in ics and "<script" not in ics and "{{" not in ics
        assert "Bcc" not in ics and "onerror" not in ics


# --- the first line of defence: the import ------------------------------------------------


@pytest.mark.parametrize("value", [v for v in HOSTILE if re.search(r"[\r\n\u2028]", v)])
def test_the_import_refuses_line_breaks_in_names(value: str) -> None:
    parsed = parse_rows([SourceRow(2, {"email": "a@example.org", "name": value,
                                       "organization": value, "audiences": "igos"})])
    assert not parsed.contacts and {e.field for e in parsed.errors} == {"name", "organization"}


# --- CSV formula injection ------------------------------------------------------------------


def test_no_module_exports_csv() -> None:
    """Formula injection (=HYPERLINK(...) opened in a spreadsheet) needs a CSV export; the
    project exports JSON and tables only. A new CSV writer must neutralise leading =, +, -, @
    and come with its own test: this one fails to say so."""
    package = Path(__file__).resolve().parents[1] / "imrf"
    writers = [str(p.relative_to(package)) for p in package.rglob("*.py")
               if re.search(r"csv\.writer|DictWriter|text/csv", p.read_text(encoding="utf-8"))]
    assert writers == []
