"""Reminders of inputs-due chase only who has not submitted; acknowledgements go once.

End to end: the real Notifier, ledger and SendGrid client against the local fake server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from imrf.calendar import build_calendar
from imrf.contacts import ContactRegistry, SourceRow
from imrf.delivery.sendgrid_sender import SendGridSender
from imrf.devtools.fake_sendgrid import FakeSendGrid
from imrf.inputs.acknowledge import acknowledge
from imrf.inputs.chasing import submitted
from imrf.inputs.intake import NewInput
from imrf.inputs.registry import InputRegistry
from imrf.ledger import Ledger
from imrf.notify import Notifier
from imrf.store import Store
from imrf.vocabulary import MessageKind

CAL = build_calendar(2030)
KEY = "SG.inputs-test"
CONTACTS = [  # email, organization, audiences, country
    ("ken1@mission-ken.example.int", "Permanent Mission of Kenya", "member-states", "KEN"),
    ("ken2@mission-ken.example.int", "Permanent Mission of Kenya", "member-states", "KEN"),
    ("mli@mission-mli.example.int", "Permanent Mission of Mali", "member-states", "MLI"),
    ("ngo@kenya-ngo.example.org", "Kenyan Migrants Forum", "ecosoc-ngos", "KEN"),
    ("eca@eca.example.int", "Economic Commission for Africa (demo)", "regional-commissions", ""),
    ("ece@ece.example.int", "Economic Commission for Europe (demo)", "regional-commissions", ""),
    ("chair@gfmd.example.org", "Global Forum on Migration and Development", "igos", ""),
    ("staff@gfmd.example.org", "Global Forum on Migration and Development", "igos", ""),
]


@pytest.fixture
def server() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_keys=(KEY,)) as fake:
        yield fake


@pytest.fixture
def notifier(store: Store, server: FakeSendGrid) -> Notifier:
    rows = [SourceRow(line=i + 2, values={"email": e, "name": e.split("@")[0],
                                          "organization": o, "audiences": a, "country": c})
            for i, (e, o, a, c) in enumerate(CONTACTS)]
    assert not ContactRegistry(store).import_rows(rows).errors
    sender = SendGridSender(SecretStr(KEY), from_email="no-reply@imrf.example.org",
                            host=server.host, retry_ambiguous=False, sleep=lambda s: None)
    return Notifier(registry=ContactRegistry(store), ledger=Ledger(store), sender=sender)


@pytest.fixture
def registry(store: Store, tmp_path: Path) -> InputRegistry:
    return InputRegistry(store, data_dir=tmp_path / "data")


def add(registry: InputRegistry, text: str, **data: Any) -> str:
    meta = NewInput.model_validate({"edition": 2030, "objectives": [1], "language": "en",
                                    "title": text} | data)
    return registry.add(meta, content=text.encode(), filename="input.txt").id


def remind(notifier: Notifier, server: FakeSendGrid, days: int) -> set[str]:
    before = len(server.delivered)
    notifier.notify(calendar=CAL, milestone_id="inputs-due", kind=MessageKind.REMINDER,
                    days_before=days)
    return {d.email for d in server.delivered[before:]}


def test_reminders_skip_whoever_submitted_and_resume_after_a_rejection(
        notifier: Notifier, server: FakeSendGrid, registry: InputRegistry) -> None:
    assert submitted(registry.store, 2030) == set()
    assert remind(notifier, server, 30) == {email for email, *_ in CONTACTS}

    add(registry, "Kenya", level="national", state="KEN", submitter=CONTACTS[0][0])
    held = add(registry, "ECA outcome", level="regional", commission="eca",
               submitter="rapporteur@elsewhere.example.org")  # unknown: held, still counts
    add(registry, "GFMD", level="global", submitter=CONTACTS[6][0])
    mali = add(registry, "Mali", level="national", state="MLI", submitter=CONTACTS[2][0])
    registry.reject(mali, "wrong document")
    assert registry.get(held).status == "held"

    assert submitted(registry.store, 2030) == {
        "ken1@mission-ken.example.int", "ken2@mission-ken.example.int",
        "eca@eca.example.int", "rapporteur@elsewhere.example.org",
        "chair@gfmd.example.org", "staff@gfmd.example.org"}
    # The NGO in Kenya is not the State: still chased; so are Mali and ECE.
    assert remind(notifier, server, 7) == {"mli@mission-mli.example.int",
                                           "ngo@kenya-ngo.example.org", "ece@ece.example.int"}
    add(registry, "Mali again", level="national", state="MLI", submitter=CONTACTS[2][0])
    assert remind(notifier, server, 1) == {"ngo@kenya-ngo.example.org", "ece@ece.example.int"}
    # Another edition is chased on its own.
    assert submitted(registry.store, 2034) == set()


def test_each_accepted_input_is_acknowledged_once(
        notifier: Notifier, server: FakeSendGrid, registry: InputRegistry) -> None:
    input_id = add(registry, "<script>alert('x')</script> -imrf-name-html-",
                   level="national", state="KEN", submitter=CONTACTS[0][0])
    submission = registry.get(input_id)
    first = acknowledge(notifier, CAL, submission)
    again = acknowledge(notifier, CAL, submission)
    assert (first.sent, again.sent, again.already_sent) == (1, 0, 1)
    assert first.milestone == f"input-acknowledgement#{input_id}"
    [message] = server.delivered
    assert message.email == CONTACTS[0][0]
    assert message.subject == "[IMRF 2030] Your input has been received"
    html = message.html or ""
    assert "&lt;script&gt;alert(" in html and "<script>" not in html
    assert f"<bdi>{input_id}</bdi>" in html


def test_a_held_input_is_not_acknowledged(notifier: Notifier,
                                          registry: InputRegistry) -> None:
    held = registry.get(add(registry, "x", level="global", submitter="who@example.org"))
    with pytest.raises(ValueError, match="is held: only accepted inputs are acknowledged"):
        acknowledge(notifier, CAL, held)
