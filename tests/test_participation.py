"""Participation (OP6, OP8): registrations, the reminders they stop, delegations, the rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from imrf.calendar import build_calendar
from imrf.contacts import ContactRegistry, SourceRow, read_csv
from imrf.delivery.sendgrid_sender import SendGridSender
from imrf.devtools.fake_sendgrid import FakeSendGrid
from imrf.forum import registrations
from imrf.forum.delegations import Delegations
from imrf.forum.participation import ParticipationError, load_rules, registered
from imrf.forum.registrations import RegistrationRegistry
from imrf.ledger import Ledger
from imrf.notify import Notifier
from imrf.store import Store
from imrf.vocabulary import MessageKind

EDITION = 2030
KEY = "SG.participation-test"


def rows(*values: dict[str, str]) -> list[SourceRow]:
    return [SourceRow(line=i + 2, values=v) for i, v in enumerate(values)]


def registrant(email: str, status: str = "", name: str = "NGO") -> dict[str, str]:
    return {"email": email, "name": name, "organization": "Org", "accreditation": "ecosoc",
            "status": status}


# --- the rules are data ---------------------------------------------------------------------


def test_rules_cite_their_paragraphs() -> None:
    rules = load_rules()
    assert rules.registration.paragraph == "OP6"
    assert rules.stakeholder_list.circulation.months_before_forum == 3
    assert rules.stakeholder_list.circulation.basis == "text"
    assert rules.stakeholder_list.balance.basis == "operational-default"
    assert {t.id for t in rules.stakeholder_list.organization_types} >= {
        "ngo", "academia", "private-sector", "trade-union", "migrant-organization",
        "youth-organization", "diaspora"}
    assert {t.id for t in rules.delegations.categories} == {
        "government", "parliamentarian", "nhri", "local-authority", "other"}


# --- registrations (OP6) --------------------------------------------------------------------


def test_import_reports_bad_rows_by_line_and_field_and_upserts(store: Store) -> None:
    registry = RegistrationRegistry(store)
    report = registry.import_rows(EDITION, rows(
        registrant("A@Example.org", "registered"),
        registrant("not-an-address"),
        {**registrant("c@example.org"), "accreditation": "friends"},
        registrant("a@example.org", "pending"),  # the same address again in one file
        {**registrant("d@example.org"), "name": "Line\nbreak"},
    ))
    assert report.imported == 1
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "email"), (4, "accreditation"), (5, "row"), (6, "name")]
    assert "duplicate address: same as line 2" in report.errors[2].reason
    again = registry.import_rows(EDITION, rows(registrant("a@example.org", "rejected"),
                                               registrant("b@example.org")))
    assert (again.imported, again.updated, again.unchanged) == (1, 1, 0)
    stored = {r.email: r.status for r in registry.registrations(EDITION)}
    assert stored == {"a@example.org": "rejected", "b@example.org": "pending"}


def test_single_entry_and_status_change(store: Store) -> None:
    registry = RegistrationRegistry(store)
    registry.register(EDITION, registrant("x@example.org"))
    registry.set_status(EDITION, "X@example.org", "registered")
    assert registered(store, EDITION) == {"x@example.org"}
    assert registered(store, EDITION + 4) == set()
    with pytest.raises(ParticipationError, match="no registration for 2030"):
        registry.set_status(EDITION, "nobody@example.org", "registered")
    with pytest.raises(ParticipationError, match="status: unknown status 'maybe'"):
        registry.register(EDITION, registrant("y@example.org", "maybe"))
    with pytest.raises(ValueError, match="unknown status"):
        registry.set_status(EDITION, "x@example.org", "maybe")  # type: ignore[arg-type]


def test_registered_skips_registered_and_rejected_not_pending(store: Store) -> None:
    RegistrationRegistry(store).import_rows(EDITION, rows(
        registrant("r@example.org", "registered"), registrant("p@example.org", "pending"),
        registrant("x@example.org", "rejected")))
    assert registered(store, EDITION) == {"r@example.org", "x@example.org"}


def test_csv_file_with_the_registration_columns(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "reg.csv"
    path.write_text("email,name,organization,accreditation,status\n"
                    "a@example.org,A,Org,gcm-process,registered\n"
                    "b@example.org,B,Org,gcm-conference,\n", encoding="utf-8")
    parsed = read_csv(path, required=registrations.REQUIRED_COLUMNS,
                      optional=registrations.OPTIONAL_COLUMNS)
    report = RegistrationRegistry(store).import_rows(EDITION, parsed)
    assert report.imported == 2 and not report.errors
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("email,name\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing required column"):
        read_csv(wrong, required=registrations.REQUIRED_COLUMNS,
                 optional=registrations.OPTIONAL_COLUMNS)


# --- reminders chase only those not yet registered (end to end) ----------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'imrf.db'}")
    yield store
    store.dispose()


def test_a_registered_stakeholder_gets_no_reminder(sqlite_store: Store) -> None:
    store = sqlite_store
    ContactRegistry(store).import_rows(rows(*(
        {"email": email, "name": name, "organization": "Org", "audiences": "ecosoc-ngos"}
        for email, name in (("done@ngo.example.org", "Done"),
                            ("late@ngo.example.org", "<b>Late</b> & co"),
                            ("refused@ngo.example.org", "Refused")))))
    RegistrationRegistry(store).import_rows(EDITION, rows(
        registrant("done@ngo.example.org", "registered"),
        registrant("late@ngo.example.org", "pending"),
        registrant("refused@ngo.example.org", "rejected")))
    cal = build_calendar(EDITION)
    with FakeSendGrid(api_keys=(KEY,)) as server:
        sender = SendGridSender(SecretStr(KEY), from_email="no-reply@imrf.example.org",
                                host=server.host, retry_ambiguous=False, sleep=lambda s: None)
        notifier = Notifier(registry=ContactRegistry(store), ledger=Ledger(store), sender=sender)
        reminder = notifier.notify(calendar=cal, milestone_id="stakeholder-registration",
                                   kind=MessageKind.REMINDER, days_before=7)
        assert reminder.sent == 1
        assert server.delivered_emails == ["late@ngo.example.org"]
        html = server.delivered[0].html or ""
        assert "&lt;b&gt;Late&lt;/b&gt; &amp; co" in html and "<b>Late</b>" not in html
        # A notice is not a chase: everyone in the audience gets it.
        notice = notifier.notify(calendar=cal, milestone_id="stakeholder-registration",
                                 kind=MessageKind.NOTICE)
        assert notice.sent == 3


# --- delegations (OP8) ----------------------------------------------------------------------


def member(state: str, name: str, category: str) -> dict[str, str]:
    return {"state": state, "name": name, "category": category, "function": ""}


def test_delegations_counted_per_category_and_state(store: Store) -> None:
    delegations = Delegations(store)
    report = delegations.import_rows(EDITION, rows(
        member("FRA", "Ana", "government"), member("fra", "Bo", "parliamentarian"),
        member("FRA", "Cy", "nhri"), member("KEN", "Di", "local-authority"),
        member("VAT", "Eve", "government"),  # an observer State: not a delegation under OP8
        member("XXX", "Fay", "government"), member("KEN", "Gus", "astronaut"),
        member("FRA", " ana ", "other"),  # the same member twice in one file
    ))
    assert report.imported == 4
    assert [(e.line, e.field) for e in report.errors] == [
        (6, "state"), (7, "state"), (8, "category"), (9, "row")]
    assert "Holy See (VAT) is not a Member State" in report.errors[0].reason
    delegations.add(EDITION, member("KEN", "Di", "parliamentarian"))  # updates the category
    counts = {c.state: c for c in delegations.counts(EDITION)}
    assert counts["FRA"].by_category == {"government": 1, "parliamentarian": 1, "nhri": 1,
                                         "local-authority": 0, "other": 0}
    assert counts["FRA"].total == 3 and counts["FRA"].state_name == "France"
    assert counts["KEN"].by_category["parliamentarian"] == 1 and counts["KEN"].total == 1
    with pytest.raises(ParticipationError, match="not a Member State"):
        delegations.add(EDITION, member("VAT", "Eve", "government"))
