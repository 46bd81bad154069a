"""The drop-folder flow on the real engine: registered, refused, held then decided."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefect.artifacts import Artifact

from flows.inputs import drop_folder, held_input, tracker_key
from imrf.inputs.models import Status
from imrf.inputs.registry import InputRegistry
from tasks import context

pytestmark = pytest.mark.prefect
KENYA = "amara.okonkwo@mission-ken.example.int"  # in config/contacts-sample.csv


def sidecar(path: Path, **data: object) -> None:
    meta = {"edition": 2030, "level": "national", "submitter": KENYA, "state": "KEN",
            "objectives": [1, 5], "title": "Kenya's review", "language": "en"} | data
    path.write_text(json.dumps(meta), encoding="utf-8")


def test_drop_folder_registers_refuses_and_holds(sample_contacts: int, data_dir: Path) -> None:
    folder = data_dir / "inputs-drop"
    folder.mkdir(parents=True)
    (folder / "kenya.pdf").write_bytes(b"%PDF-1.7\nKenya\n%%EOF\n")
    sidecar(folder / "kenya.pdf.json")
    (folder / "fake.pdf").write_bytes(b"MZ\x90\x00program")
    sidecar(folder / "fake.pdf.json", title="Disguised")
    (folder / "gfmd.txt").write_text("Contribution of the GFMD\n", encoding="utf-8")
    sidecar(folder / "gfmd.txt.json", level="global", state=None,
            submitter="chair@gfmd.example.org", title="<script>GFMD</script>")
    (folder / "later.pdf").write_bytes(b"%PDF-1.7\nno sidecar yet\n")

    result = drop_folder()

    by_file = {o["file"]: o for o in result["outcomes"]}
    assert by_file["kenya.pdf"]["status"] == "accepted"
    assert by_file["gfmd.txt"]["status"] == "held"
    assert by_file["fake.pdf"]["status"] is None
    assert result["waiting"] == ["later.pdf"]
    assert sorted(p.name for p in (folder / "processed").iterdir()) == [
        "gfmd.txt", "gfmd.txt.json", "kenya.pdf", "kenya.pdf.json"]
    reason = (folder / "rejected" / "fake.pdf.reason.txt").read_text(encoding="utf-8")
    assert "the content is a Windows program" in reason
    assert (folder / "rejected" / "fake.pdf.json").exists()
    assert (folder / "later.pdf").exists()
    outbox = list((data_dir / "outbox").glob("*.eml"))
    assert [p.name for p in outbox if KENYA in p.name] and len(outbox) == 1

    # The website was rebuilt with the accepted input, the held one not on it.
    index = (data_dir / "site" / "2030" / "index.html").read_text(encoding="utf-8")
    assert "Kenya&#39;s review" in index and "GFMD" not in index

    artifact = Artifact.get(tracker_key(2030))
    assert artifact is not None and artifact.type == "markdown"
    assert "**1** submitted, **192** missing" in str(artifact.data)

    registry = InputRegistry(context.app().store, data_dir=data_dir)
    held_id = by_file["gfmd.txt"]["input_id"]
    decided = held_input(held_id, answer={"decision": "accept"})
    assert decided["status"] == "accepted" and decided["acknowledgement"]["sent"] == 1
    assert registry.get(held_id).status is Status.ACCEPTED
    index = (data_dir / "site" / "2030" / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;GFMD&lt;/script&gt;" in index  # on it once accepted, as text
    assert sorted(s.id for s in registry.accepted(2030)) == sorted(["2030-ken-1", held_id])
    again = drop_folder()  # nothing new: nothing registered or sent
    assert again["outcomes"] == [] and len(list((data_dir / "outbox").glob("*.eml"))) == 2
