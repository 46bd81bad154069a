"""Round-table documents (OP29, OP31) tracked and chased, participants (OP30), the opening
session (OP22)."""

from __future__ import annotations

import datetime as dt

import pytest

from imrf.calendar import build_calendar
from imrf.forum import documents, opening, roundtables
from imrf.forum.documents import Received
from imrf.forum.roundtables import Participant
from imrf.forum.rows import ForumError
from imrf.modalities import load_modalities
from imrf.store import Store

M = load_modalities("zero-draft-2019")
CAL = build_calendar(2030)
NOTES_DUE = CAL.get("background-notes").due
assert NOTES_DUE is not None


def note(rt: int, day: dt.date = dt.date(2030, 3, 1)) -> Received:
    return Received(document="background-note", roundtable=rt,
                    link=f"https://example.org/bn{rt}", received_on=day)


def test_documents_are_due_by_their_milestone_and_chased_when_missing() -> None:
    before = NOTES_DUE - dt.timedelta(days=1)
    after = NOTES_DUE + dt.timedelta(days=1)
    got = [note(1), note(3)]
    on_time = documents.statuses(CAL, M, got, before)
    notes = [s for s in on_time if s.document == "background-note"]
    assert [(s.roundtable, s.state) for s in notes] == [
        (1, "received"), (2, "pending"), (3, "received"), (4, "pending")]
    assert all(s.due == NOTES_DUE for s in notes)
    late = documents.outstanding(documents.statuses(CAL, M, got, after))
    overdue = [(s.document, s.roundtable) for s in late if s.state == "overdue"]
    assert ("background-note", 2) in overdue and ("background-note", 4) in overdue
    assert late[0].state == "overdue"  # overdue first
    technical = [s for s in late if s.document == "technical-summary"]
    assert len(technical) == 4 and technical[0].state == "pending"
    assert technical[0].due == CAL.get("technical-summaries").first_day  # OP31-OP32
    lines = documents.chase_lines(late, after)
    assert lines[0] == ("Background note of round table 2 (OP29): overdue since "
                        f"{NOTES_DUE} (1 days)")


def test_every_document_is_received_nothing_is_chased() -> None:
    got = [Received(document=d.id, roundtable=n, link="https://example.org/d",
                    received_on=dt.date(2030, 1, 2))
           for d in M.forum_documents
           for n in ([1, 2, 3, 4] if d.per_roundtable else [0])]
    assert documents.outstanding(documents.statuses(CAL, M, got, dt.date(2030, 12, 1))) == []


def test_recording_checks_the_round_table(store: Store) -> None:
    with pytest.raises(ForumError, match="give the round table"):
        documents.record(store, 2030, note(0), M)
    with pytest.raises(ForumError, match="not a round table's document"):
        documents.record(store, 2030, Received(document="sg-report", roundtable=2,
                                               link="https://x.org", received_on=NOTES_DUE), M)
    with pytest.raises(ForumError, match="unknown forum document 'minutes'"):
        documents.record(store, 2030, Received(document="minutes", link="https://x.org",
                                               received_on=NOTES_DUE), M)
    documents.record(store, 2030, note(2), M)
    documents.record(store, 2030, note(2, dt.date(2030, 3, 5)), M)  # a correction
    assert documents.received(store, 2030) == [note(2, dt.date(2030, 3, 5))]


def test_participants_per_round_table(store: Store) -> None:
    ngo = Participant(roundtable=1, kind="non-governmental", name="<b>Forum</b>",
                      organisation="MFA")
    roundtables.add_participant(store, 2030, ngo, M)
    roundtables.add_participant(store, 2030, Participant(
        roundtable=1, kind="regional-process", name="Colombo Process"), M)
    with pytest.raises(ForumError, match="already a participant of round table 1"):
        roundtables.add_participant(store, 2030, ngo, M)
    with pytest.raises(ForumError, match="round table 5 does not exist"):
        roundtables.add_participant(store, 2030, ngo.model_copy(update={"roundtable": 5}), M)
    people = roundtables.participants(store, 2030)
    assert [p.name for p in people] == ["<b>Forum</b>", "Colombo Process"]


def test_opening_session_follows_op22(store: Store) -> None:
    slots = opening.programme(M, {})
    assert [s.role for s in slots] == ["president-of-the-general-assembly", "secretary-general",
                                       "iom-director-general", "migrant-community",
                                       "civil-society"]
    assert all(s.name is None for s in slots)
    opening.name_speaker(store, 2030, "migrant-community", "  A. Speaker ", M)
    with pytest.raises(ForumError, match="not an opening-session role"):
        opening.name_speaker(store, 2030, "king", "X", M)
    named = opening.programme(M, opening.names(store, 2030))
    assert named[3].name == "A. Speaker" and named[0].name is None
