"""Writing the site incrementally: a page is rendered and written only when its key changed.

Each edition's folder keeps a manifest (``.manifest.json``) of the key of every page and the
content hash of every copied document. A key is a hash of everything the page shows, computed
without rendering, so a rebuild after one new input renders only the pages that input touches.
Files are replaced atomically (a reader never sees half a page), and a file is deleted only
when the previous manifest lists it: nothing else in the folder is ever touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MANIFEST = ".manifest.json"
MARKER = ".imrf-site"  # marks a folder this generator made: it may write there
LOCK = ".imrf-site.lock"
_VERSION = 1


class SiteError(ValueError):
    """The site cannot be built there; a one-line message naming the path."""


def key_of(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()


def prepare_output(output: Path) -> None:
    """Create ``output`` (or accept one this generator made); refuse anything else."""
    if output.exists() and not output.is_dir():
        raise SiteError(f"output {output} is a file, not a folder")
    if output.is_dir() and not (output / MARKER).exists() and any(output.iterdir()):
        raise SiteError(f"output {output} is a folder with other files in it; give an empty "
                        "or new folder, or one made by `imrf site build`")
    try:
        output.mkdir(parents=True, exist_ok=True)
        (output / MARKER).touch()
    except OSError as exc:
        raise SiteError(f"output {output}: cannot write: {exc.strerror}") from None


@contextlib.contextmanager
def locked(output: Path) -> Iterator[None]:
    """One build at a time per output folder (the flow may run while an operator builds)."""
    with (output / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomic(path: Path, data: bytes) -> None:
    _replace(str(path), data)


def write_if_changed(path: Path, data: bytes) -> bool:
    """For the few files outside any manifest (the root index, the style sheet)."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_atomic(path, data)
    return True


class IncrementalWriter:
    """The pages and documents of one edition's folder, against its previous manifest."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        self.fingerprint = fingerprint
        old = self._read_manifest()
        same = old.get("fingerprint") == fingerprint and old.get("version") == _VERSION
        self._old_pages: dict[str, str] = old.get("pages", {}) if same else {}
        # Documents do not depend on the templates: keep them across a new fingerprint.
        self._old_documents: dict[str, str] = old.get("documents", {})
        self._stale = set(old.get("pages", {})) | set(self._old_documents)
        self.pages: dict[str, str] = {}
        self.documents: dict[str, str] = {}
        self.written = 0
        self.copied = 0
        self._root = str(folder)
        self._dirs: set[str] = set()

    def _read_manifest(self) -> dict[str, Any]:
        try:
            data = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _remove_empty_folders(self, folder: str) -> None:
        while folder != self._root and folder.startswith(self._root + os.sep):
            try:
                os.rmdir(folder)  # only an empty one
            except OSError:
                return
            folder = os.path.dirname(folder)

    def _target(self, relative: str) -> str:
        target = os.path.join(self._root, _checked(relative))
        parent = os.path.dirname(target)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        return target

    def page(self, relative: str, key: str, render: Callable[[], str]) -> None:
        """Render and write the page unless the manifest has it with the same key."""
        if relative in self.pages:
            raise ValueError(f"two pages at {relative!r}")
        self.pages[relative] = key
        target = os.path.join(self._root, _checked(relative))
        if self._old_pages.get(relative) == key and os.path.exists(target):
            return
        _replace(self._target(relative), render().encode("utf-8"))
        self.written += 1

    def document(self, relative: str, sha256: str, source: Path) -> None:
        """Publish a stored document unless the same content is already there."""
        self.documents[relative] = sha256
        target = os.path.join(self._root, _checked(relative))
        if self._old_documents.get(relative) == sha256 and os.path.exists(target):
            return
        target = self._target(relative)
        temporary = _temporary(target)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        try:
            # Stored documents are content-addressed and never change: a hard link costs no
            # space and no copying. Another file system (or no link support): copy.
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)
        os.replace(temporary, target)
        self.copied += 1

    def finish(self) -> int:
        """Delete what the previous build made and this one did not; save the manifest."""
        removed = 0
        for relative in sorted(self._stale - set(self.pages) - set(self.documents)):
            with contextlib.suppress(ValueError, OSError):
                target = os.path.join(self._root, _checked(relative))
                os.unlink(target)
                removed += 1
                self._remove_empty_folders(os.path.dirname(target))
        manifest = {"version": _VERSION, "fingerprint": self.fingerprint,
                    "pages": self.pages, "documents": self.documents}
        write_atomic(self.folder / MANIFEST,
                     json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode())
        return removed


class FragmentCache:
    """Rendered fragments (an input's row in the lists) kept between builds, by digest.

    A new input moves every other input one place down the lists, so every page of a list
    changes; with its rows kept, re-rendering such a page is a string join.
    """

    FILE = ".fragments.json"

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self._path = folder / self.FILE
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        fresh = isinstance(data, dict) and data.get("fingerprint") == fingerprint
        self._old: dict[str, list[str]] = data.get("fragments", {}) if fresh else {}
        self._fingerprint = fingerprint
        self._used: dict[str, list[str]] = {}
        self._changed = not fresh

    def get(self, name: str, digest: str, render: Callable[[], str]) -> str:
        found = self._used.get(name) or self._old.get(name)
        if found is None or found[0] != digest:
            found = [digest, render()]
            self._changed = True
        self._used[name] = found
        return found[1]

    def save(self, names: set[str]) -> None:
        """Keep the fragments of ``names`` (the published inputs), drop the others."""
        kept = {n: f for n, f in {**self._old, **self._used}.items() if n in names}
        if not self._changed and kept.keys() == self._old.keys():
            return
        data = {"fingerprint": self._fingerprint, "fragments": kept}
        write_atomic(self._path, json.dumps(data, separators=(",", ":")).encode())


def _checked(relative: str) -> str:
    """``relative`` when it is a plain path inside the folder (no ``..``, no dot files)."""
    parts = relative.split("/")
    if "\\" in relative or any(not p or p[0] == "." for p in parts):
        raise ValueError(f"unsafe site path {relative!r}")
    return relative


def _temporary(target: str) -> str:
    head, tail = os.path.split(target)
    return os.path.join(head, f".{tail}.tmp")


def _replace(target: str, data: bytes) -> None:
    temporary = _temporary(target)
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, target)
