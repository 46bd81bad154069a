"""The registry of inputs on SQLite and PostgreSQL: intake, held inputs, duplicates, tracker."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from imrf.contacts import ContactRegistry, SourceRow
from imrf.inputs.intake import NewInput
from imrf.inputs.models import Status
from imrf.inputs.registry import (
    DuplicateInput,
    InputRegistry,
    InputStateError,
    UnknownInput,
)
from imrf.inputs.validation import InputRefused
from imrf.store import Store
from imrf.store.tables_inputs import inputs

PDF = b"%PDF-1.7\nnational review\n%%EOF\n"
KENYA = "amara@mission-ken.example.int"


def add_contacts(store: Store, *rows: tuple[str, str, str, str]) -> None:
    source = [SourceRow(line=i + 2, values={"email": e, "name": n, "organization": o,
                                            "audiences": a.split("|")[0],
                                            "country": a.split("|")[1] if "|" in a else ""})
              for i, (e, n, o, a) in enumerate(rows)]
    assert not ContactRegistry(store).import_rows(source).errors


@pytest.fixture
def registry(store: Store, tmp_path: Path) -> InputRegistry:
    add_contacts(store, (KENYA, "Amara", "Mission of Kenya", "member-states|KEN"))
    return InputRegistry(store, data_dir=tmp_path / "data")


def meta(**changes: Any) -> NewInput:
    data: dict[str, Any] = {"edition": 2030, "level": "national", "submitter": KENYA,
                            "state": "KEN", "objectives": [1, 23], "title": "Kenya's review",
                            "language": "en"}
    return NewInput.model_validate(data | changes)


def rows(store: Store) -> int:
    with store.unit_of_work(read_only=True) as uow:
        return uow.connection.execute(select(func.count()).select_from(inputs)).scalar_one()


def test_a_known_contact_is_accepted_and_the_blob_is_content_addressed(
        registry: InputRegistry) -> None:
    submission = registry.add(meta(), content=PDF, filename="../../VNR Kenya.pdf")
    assert submission.status is Status.ACCEPTED
    assert (submission.id, submission.submitter_name, submission.organization) == (
        "2030-ken-1", "Amara", "Mission of Kenya")
    digest = hashlib.sha256(PDF).hexdigest()
    assert submission.document.sha256 == digest
    assert submission.document.filename == "VNR Kenya.pdf"
    path = registry.document_path(submission)
    assert path == registry.data_dir / "inputs" / digest and path.read_bytes() == PDF
    assert registry.get(submission.id) == submission
    assert registry.accepted(2030) == [submission]
    assert not list((registry.data_dir / "inputs").glob(".tmp-*"))


def test_an_unknown_submitter_is_held_never_published(registry: InputRegistry) -> None:
    held = registry.add(meta(submitter="stranger@example.org", level="global", state=None),
                        content=b"A contribution\n", filename="c.txt")
    assert held.status is Status.HELD and held.id == "2030-global-1"
    assert registry.accepted(2030) == []
    record = registry.record(held.id)
    assert "stranger@example.org is not in the contact registry" in (record.reason or "")
    accepted = registry.accept(held.id, actor="ines")
    assert accepted.status is Status.ACCEPTED and registry.accepted(2030) == [accepted]
    assert registry.record(held.id).decided_by == "ines"


def test_a_contact_submitting_for_another_state_is_held(registry: InputRegistry) -> None:
    held = registry.add(meta(state="MLI"), content=PDF, filename="r.pdf")
    assert held.status is Status.HELD
    assert "contact of KEN, the input is for MLI" in (registry.record(held.id).reason or "")


def test_the_same_document_twice_is_refused_naming_the_first(registry: InputRegistry) -> None:
    first = registry.add(meta(), content=PDF, filename="a.pdf")
    with pytest.raises(DuplicateInput, match=r"already input 2030-ken-1 \(accepted\) of the "
                                             r"2030 edition: \"Kenya's review\"") as caught:
        registry.add(meta(title="Another title"), content=PDF, filename="b.pdf")
    assert caught.value.existing == first.id
    assert rows(registry.store) == 1
    link = meta(level="global", state=None, link="https://example.org/r")
    registry.add(link)
    with pytest.raises(DuplicateInput, match="same link"):
        registry.add(link)
    # Another edition may hold the same document.
    assert registry.add(meta(edition=2034), content=PDF, filename="a.pdf").id == "2034-ken-1"


def test_after_a_rejection_the_document_may_come_again(registry: InputRegistry) -> None:
    first = registry.add(meta(submitter="x@example.org"), content=PDF, filename="a.pdf")
    registry.reject(first.id, "  not from the mission  ")
    assert registry.record(first.id).reason == "not from the mission"
    again = registry.add(meta(), content=PDF, filename="a.pdf")
    assert (again.id, again.status) == ("2030-ken-2", Status.ACCEPTED)
    with pytest.raises(InputStateError, match="is rejected: only held inputs can be accepted"):
        registry.accept(first.id)


def test_decisions_need_a_known_input_and_a_reason(registry: InputRegistry) -> None:
    with pytest.raises(UnknownInput, match="no input '2030-nope-1'"):
        registry.accept("2030-nope-1")
    held = registry.add(meta(submitter="x@example.org"), content=PDF, filename="a.pdf")
    with pytest.raises(InputStateError, match="needs a reason"):
        registry.reject(held.id, "   ")
    assert registry.get(held.id).status is Status.HELD
    assert registry.accept(held.id).status is Status.ACCEPTED
    assert registry.accept(held.id).status is Status.ACCEPTED  # again: no change
    assert registry.reject(held.id, "withdrawn").status is Status.REJECTED
    assert registry.list(2030, Status.REJECTED)[0].id == held.id


@pytest.mark.parametrize(("changes", "content", "message"), [
    ({"edition": 2031}, PDF, "edition: 2031 is not a forum year"),
    ({"state": "XXX"}, PDF, "state: XXX is not a known Member or observer State"),
    ({"state": None}, PDF, "state: a national input names its Member State"),
    ({"level": "regional", "state": None}, PDF, "commission: a regional input names"),
    ({}, b"MZ\x90\x00program", "content is a Windows program"),
    ({"link": "https://example.org/x"}, PDF, "either a file or a link, not both"),
])
def test_refusals_store_nothing(registry: InputRegistry, changes: dict[str, Any],
                                content: bytes, message: str) -> None:
    with pytest.raises(InputRefused, match=message):
        registry.add(meta(**changes), content=content, filename="r.pdf")
    assert rows(registry.store) == 0
    assert not (registry.data_dir / "inputs").exists()


def test_a_failed_row_leaves_no_row_and_an_unreferenced_blob_reused_later(
        registry: InputRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(registry, "_insert", broken)
    with pytest.raises(RuntimeError):
        registry.add(meta(), content=PDF, filename="a.pdf")
    assert rows(registry.store) == 0
    monkeypatch.undo()
    submission = registry.add(meta(), content=PDF, filename="a.pdf")
    assert registry.document_path(submission) is not None


def test_add_file_checks_the_size_before_reading(registry: InputRegistry,
                                                 tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        handle.write(PDF)
        handle.truncate(20_000_001)
    with pytest.raises(InputRefused, match="over the limit of 20 MB"):
        registry.add_file(meta(), big)
    with pytest.raises(InputRefused, match="no such file"):
        registry.add_file(meta(), tmp_path / "missing.pdf")


def test_the_tracker_counts_accepted_and_held_not_rejected(registry: InputRegistry) -> None:
    registry.add(meta(), content=PDF, filename="a.pdf")  # KEN accepted
    registry.add(meta(state="FRA", submitter="x@example.org"), content=b"France\n",
                 filename="f.txt")  # held: counts
    rejected = registry.add(meta(state="BRA", submitter="y@example.org"),
                            content=b"Brazil\n", filename="b.txt")
    registry.reject(rejected.id, "spam")
    registry.add(meta(level="regional", state=None, commission="eca", submitter=KENYA),
                 content=b"ECA outcome\n", filename="eca.txt")
    tracker = registry.tracker(2030)
    assert (tracker.member_states.submitted, tracker.member_states.missing) == (2, 191)
    assert (tracker.commissions.submitted, tracker.commissions.missing) == (1, 4)
    national = tracker.by_level["national"]  # type: ignore[index]
    assert (national.accepted, national.held, national.rejected) == (1, 1, 1)
    african = tracker.by_regional_group["african"]  # type: ignore[index]
    assert (african.members, african.submitted, african.missing) == (54, 1, 53)
    codes = {m.code for m in tracker.missing}
    assert "KEN" not in codes and "FRA" not in codes and "BRA" in codes
    assert "eca" not in codes and "ece" in codes
    assert len(tracker.missing) == 191 + 4


def test_a_regional_review_outcome_becomes_an_accepted_regional_input(
        registry: InputRegistry) -> None:
    import datetime as dt

    from imrf.human_steps import ReviewOutcome
    from imrf.inputs.review_outcome import register_review_outcome
    from imrf.vocabulary import Commission

    add_contacts(registry.store, ("amina@eca.example.int", "Amina",
                                  "Economic Commission for Africa (demo)",
                                  "regional-commissions"))
    answer = ReviewOutcome(title="Africa regional review", link="https://eca.example.int/r",
                           held_from=dt.date(2029, 8, 1), held_to=dt.date(2029, 8, 3))

    def record(commission: Commission) -> Any:
        return register_review_outcome(registry, edition=2030, commission=commission,
                                       answer=answer, received_on=dt.date(2029, 8, 4),
                                       secretariat_email="no-reply@imrf.example.org")

    first = record(Commission.ECA)
    s = first.submission
    assert first.acknowledge and s.status is Status.ACCEPTED
    assert (s.id, s.level, s.commission, s.submitter_email) == (
        "2030-eca-1", "regional", "eca", "amina@eca.example.int")
    assert s.objectives == tuple(range(1, 24)) and s.document.link == answer.link
    assert record(Commission.ECA).submission == s  # a re-run finds it, adds nothing
    assert rows(registry.store) == 1
    # No contact for ECE: recorded from the secretariat, accepted, not acknowledged; the same
    # (joint) outcome document is an input of ECE too, not ECA's input again.
    other = record(Commission.ECE)
    assert not other.acknowledge and other.submission.status is Status.ACCEPTED
    assert other.submission.id == "2030-ece-1" and rows(registry.store) == 2
    assert record(Commission.ECE).submission.id == "2030-ece-1"
    with pytest.raises(DuplicateInput):  # anyone else sending that link is refused
        registry.add(meta(level="global", state=None, link=answer.link))
