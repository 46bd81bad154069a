"""The drop folder (OP13): documents that arrive with a sidecar of metadata are registered.

A document ``report.pdf`` is ready once its sidecar ``report.pdf.yaml`` (or ``.yml``,
``.json``; see :mod:`imrf.inputs.intake` for the keys) is there: put the document first and
the sidecar last. A sidecar with a ``link`` and no document registers a link. After
registration both files move to ``processed/``; a refused pair moves to ``rejected/`` beside
a ``<document>.reason.txt`` saying why. A document still without its sidecar after the
configured grace period is moved to ``rejected/`` too. Hidden files (``.name``) and partial
uploads (``*.part``, ``*.tmp``, ``*.crdownload``) are left alone.

Each document is registered before it is moved: if the move fails, the next scan finds the
document again and refuses it as a duplicate, naming the input it already is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel

from imrf.inputs.intake import SIDECAR_SUFFIXES, read_sidecar
from imrf.inputs.models import Status
from imrf.inputs.registry import InputRegistry
from imrf.inputs.validation import InputRefused

PROCESSED, REJECTED = "processed", "rejected"
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


class Arrival(NamedTuple):
    """One thing to register: a document with its sidecar, or a sidecar alone (a link)."""

    document: Path | None
    sidecar: Path


class Outcome(BaseModel):
    """What happened to one arrival (the flow's summary lists these)."""

    file: str
    input_id: str | None = None
    edition: int | None = None
    status: Status | None = None  # None: refused
    reason: str | None = None
    moved_to: str


class Scan(NamedTuple):
    arrivals: list[Arrival]
    waiting: list[Path]  # documents whose sidecar has not come yet
    expired: list[Path]  # documents without a sidecar past the grace period


def _ignored(path: Path) -> bool:
    name = path.name
    return name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES) or not path.is_file()


def _sidecar_of(document: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = document.with_name(document.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def scan(folder: Path, *, grace_seconds: float, now: float | None = None) -> Scan:
    """What is in ``folder`` (not its subfolders), sorted by name."""
    now = time.time() if now is None else now
    if not folder.is_dir():
        return Scan([], [], [])
    entries = sorted(p for p in folder.iterdir() if not _ignored(p))
    sidecars = {p for p in entries if p.suffix.lower() in SIDECAR_SUFFIXES}
    arrivals: list[Arrival] = []
    waiting: list[Path] = []
    expired: list[Path] = []
    paired: set[Path] = set()
    for path in entries:
        if path in sidecars:
            continue
        sidecar = _sidecar_of(path)
        if sidecar is not None:
            arrivals.append(Arrival(path, sidecar))
            paired.add(sidecar)
        elif now - path.stat().st_mtime > grace_seconds:
            expired.append(path)
        else:
            waiting.append(path)
    for sidecar in sorted(sidecars - paired):
        document = sidecar.with_name(sidecar.stem)
        if not document.exists():  # a sidecar alone: a link, or its document is coming
            arrivals.append(Arrival(None, sidecar))
    return Scan(arrivals, waiting, expired)


def _move(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under a name not taken yet."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    counter = 1
    while target.exists():
        stem, dot, ext = path.name.partition(".")
        target = folder / f"{stem}-{counter}{dot}{ext}"
        counter += 1
    os.replace(path, target)
    return target


def reject(folder: Path, files: list[Path], reason: str) -> Path:
    """Move ``files`` (the document first) to ``rejected/`` with a ``.reason.txt``."""
    moved = [_move(f, folder / REJECTED) for f in files if f.exists()]
    first = moved[0] if moved else folder / REJECTED / files[0].name
    first.with_name(first.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return first


def process(registry: InputRegistry, folder: Path, arrival: Arrival, *,
            grace_seconds: float) -> Outcome:
    """Register one arrival and move its files; a refusal is an Outcome, never an error.

    A sidecar alone without a link waits ``grace_seconds`` for its document."""
    files = [p for p in (arrival.document, arrival.sidecar) if p is not None]
    name = files[0].name
    try:
        meta = read_sidecar(arrival.sidecar)
        if arrival.document is None:
            if meta.link is None:
                if time.time() - arrival.sidecar.stat().st_mtime < grace_seconds:
                    return Outcome(file=name, reason="waiting for its document",
                                   moved_to="")
                raise InputRefused(f"{name}: no document {arrival.sidecar.stem} beside it "
                                   "and no link in it")
            submission = registry.add(meta)
        else:
            if meta.link is not None:
                raise InputRefused(f"{arrival.sidecar.name}: link: give a link or a "
                                   "document, not both")
            submission = registry.add_file(meta, arrival.document)
    except InputRefused as exc:
        where = reject(folder, files, str(exc))
        return Outcome(file=name, reason=str(exc), moved_to=str(where.relative_to(folder)))
    moved = [_move(f, folder / PROCESSED) for f in files]
    record = registry.record(submission.id)
    return Outcome(file=name, input_id=submission.id, edition=submission.edition,
                   status=submission.status, reason=record.reason,
                   moved_to=str(moved[0].relative_to(folder)))


def expire(folder: Path, document: Path, grace_minutes: int) -> Outcome:
    reason = (f"{document.name}: no sidecar {document.name}.yaml (or .yml, .json) with its "
              f"metadata after {grace_minutes} minutes")
    where = reject(folder, [document], reason)
    return Outcome(file=document.name, reason=reason, moved_to=str(where.relative_to(folder)))
