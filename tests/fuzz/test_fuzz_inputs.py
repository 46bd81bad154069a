"""Fuzzing the inputs drop folder: sidecar metadata, submitted file names, oversized files.

A sidecar is anything a submitter (or a mail gateway) wrote; a file name is whatever their
system produced. Each arrival is registered or refused with a one-line reason and moved to
``processed/`` or ``rejected/``; nothing is ever written outside the folder and the store's
document directory.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, example, given
from hypothesis import strategies as st

from imrf.contacts import ContactRegistry, SourceRow
from imrf.inputs.dropfolder import PROCESSED, REJECTED, process, scan
from imrf.inputs.intake import read_sidecar
from imrf.inputs.registry import InputRegistry
from imrf.inputs.validation import MAX_NAME, InputRefused, sanitise_filename
from imrf.store import Store

from .profile import fuzz
from .strategies import NASTY, mutated_tree, nasty_text

PDF = b"%PDF-1.7\nnational review\n%%EOF\n"
KENYA = "amara@mission-ken.example.int"
SIDECAR = {"edition": 2030, "level": "national", "submitter": KENYA, "state": "KEN",
           "objectives": [1, 23], "title": "Kenya's review", "language": "en"}
RUN = itertools.count()
json_values = st.one_of(st.none(), st.booleans(), st.integers(), nasty_text,
                        st.lists(st.integers(-3, 30), max_size=4))
sidecar_values = st.one_of(json_values, st.dates())


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InputRegistry]:
    root = tmp_path_factory.mktemp("inputs")
    store = Store(f"sqlite:///{root / 'imrf.db'}")
    store.ensure_schema()
    assert not ContactRegistry(store).import_rows([SourceRow(2, {
        "email": KENYA, "name": "Amara", "organization": "Mission of Kenya",
        "audiences": "member-states", "country": "KEN"})]).errors
    yield InputRegistry(store, data_dir=root / "data")
    store.dispose()


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@fuzz(100)
@given(name=st.one_of(nasty_text, st.sampled_from(NASTY)))
@example(name="../../etc/passwd")
@example(name="..\\..\\boot.ini")
@example(name="/abs/path/report.pdf")
@example(name="report.pdf\x00.exe")
@example(name="CON.pdf")
@example(name="\u202egnp.exe")
@example(name="." * 300)
@example(name="a" * 1000 + ".pdf")
def test_any_submitted_name_becomes_one_safe_component_or_is_refused(name: str) -> None:
    try:
        safe = sanitise_filename(name)
    except InputRefused as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    assert safe and len(safe) <= MAX_NAME
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert safe not in {".", ".."}
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch in "\u202e\u2028"
                   for ch in safe)


@fuzz(80)
@given(data=st.one_of(
    mutated_tree(SIDECAR, sidecar_values).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
    mutated_tree(SIDECAR, json_values).map(
        lambda d: json.dumps(d).encode()),
    st.binary(max_size=200),
), suffix=st.sampled_from([".yaml", ".json"]))
def test_any_sidecar_is_metadata_or_one_line_naming_it(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("sidecar") / f"report.pdf{suffix}"
    path.write_bytes(data)
    try:
        read_sidecar(path)
        event("read")
    except InputRefused as exc:
        assert str(exc).startswith(path.name) and "\n" not in str(exc), str(exc)
        event("refused")


@pytest.mark.parametrize("text", [
    "edition: " + "9" * 5000,
    "edition: 2030\nreceived_on: 2030-02-30\n",
    "title: " + "[" * 5000 + "]" * 5000,
], ids=["5000-digit-number", "impossible-date", "nested-5000-deep"])
def test_a_sidecar_python_cannot_represent_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "report.pdf.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputRefused, match=r"report\.pdf\.yaml"):
        read_sidecar(path)


@fuzz(40)
@given(name=st.builds(
           lambda stem, ext: stem + ext,
           st.text(st.characters(exclude_characters="/\x00", exclude_categories=["Cs"]),
                   min_size=1, max_size=60),
           st.sampled_from([".pdf", ".PDF", ".pdf", "", ".docx", ".exe", ".pdf.exe"])),
       content=st.one_of(st.just(PDF), st.just(PDF), st.binary(max_size=64),
                         st.sampled_from([b"MZ\x90\x00", b"<html><script>x</script>"])),
       sidecar=st.one_of(st.just(SIDECAR), st.just(SIDECAR),
                         mutated_tree(SIDECAR, sidecar_values)))
@example(name="..", content=PDF, sidecar=SIDECAR)
@example(name="-imrf-name-html-.pdf", content=PDF, sidecar=SIDECAR)
def test_drop_folder_registers_or_rejects_and_writes_nowhere_else(
    registry: InputRegistry, tmp_path_factory: pytest.TempPathFactory,
    name: str, content: bytes, sidecar: dict[str, Any],
) -> None:
    folder = tmp_path_factory.mktemp("drop")
    document = folder / name
    if document.name != name or name.startswith(".") or name.lower().endswith(
            (".yaml", ".yml", ".json", ".part", ".tmp", ".crdownload", ".partial")):
        return  # not a name that arrives as a document (the scan skips or pairs it)
    run = next(RUN)  # a distinct title and content: not refused as a duplicate
    try:
        document.write_bytes(content + f"\n%{run}\n".encode())
    except OSError:
        return  # a name this file system refuses (too long in bytes)
    meta = dict(sidecar)
    if meta.get("title") == SIDECAR["title"]:
        meta["title"] = f"{SIDECAR['title']} {run}"
    (folder / f"{name}.json").write_text(json.dumps(meta, default=str), encoding="utf-8")
    blobs_before = files_under(registry.blobs_dir) if registry.blobs_dir.exists() else set()

    found = scan(folder, grace_seconds=3600)
    assert [a.document for a in found.arrivals] == [document]
    outcome = process(registry, folder, found.arrivals[0], grace_seconds=3600)

    event("registered" if outcome.input_id else "rejected")
    assert outcome.moved_to.startswith((f"{PROCESSED}/", f"{REJECTED}/")), outcome
    assert "\n" not in (outcome.reason or "")
    left = files_under(folder)
    assert all(p.parent.name in (PROCESSED, REJECTED) for p in left), left
    assert all(p.resolve().is_relative_to(folder.resolve()) for p in left)
    new_blobs = files_under(registry.blobs_dir) - blobs_before
    assert len(new_blobs) == (1 if outcome.input_id else 0)
    assert all(p.resolve().is_relative_to(registry.blobs_dir.resolve()) for p in new_blobs)
    if outcome.input_id:
        stored = registry.get(outcome.input_id).document
        assert stored is not None and stored.filename == sanitise_filename(name)


def test_an_oversized_file_is_refused_before_it_is_read(registry: InputRegistry,
                                                        tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    document = folder / "huge.pdf"
    with document.open("wb") as handle:  # sparse: the size without the bytes
        handle.truncate(registry.config.max_size.bytes + 1)
    (folder / "huge.pdf.json").write_text(json.dumps(SIDECAR | {"title": "huge"}))
    outcome = process(registry, folder, scan(folder, grace_seconds=0).arrivals[0],
                      grace_seconds=0)
    assert outcome.input_id is None and "over the limit" in (outcome.reason or "")
    assert outcome.moved_to == f"{REJECTED}/huge.pdf"
    assert (folder / REJECTED / "huge.pdf.reason.txt").read_text().startswith("huge.pdf: ")
