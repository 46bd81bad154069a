"""Checks on a document before it is stored: its type by content, its size, its name.

Every refusal is an :class:`InputRefused` whose message is one line a submitter can act on.
The type comes from the bytes (magic numbers, the ZIP container's members), never from the
name; the name's extension must then agree with the content, so a program renamed
``report.pdf`` is refused and so is an HTML page renamed ``report.pdf``.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from pathlib import PurePosixPath

from imrf.inputs.config import AcceptedType, InputsConfig

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
MAX_NAME = 120
# C0/C1 controls, line/paragraph separators, bidi overrides: none may survive in a name.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NOT_SAFE = re.compile(r"[^\w.\- ()]+")
# Names Windows reserves whatever the extension: such a file cannot be saved there.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_LOOKS_LIKE = (  # for a clearer refusal of what is not accepted
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (.doc/.xls)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


class InputRefused(ValueError):
    """The input cannot be registered; the message says why in one line."""


def sanitise_filename(name: str) -> str:
    """A safe file name from a submitted one: its last path component, without control
    characters or leading dots, with anything unusual replaced by ``_``.

    ``../../etc/passwd`` becomes ``passwd``, ``con\\x00trol.pdf`` becomes ``control.pdf``.
    A name with nothing usable left (``..``, only control characters) is refused.
    """
    text = unicodedata.normalize("NFC", _UNSAFE.sub("", name))
    text = PurePosixPath(text.replace("\\", "/")).name
    text = _NOT_SAFE.sub("_", text).strip(" ._")
    text = text.lstrip(".")
    if _RESERVED.match(text):
        text = f"_{text}"
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 \
            else text[:MAX_NAME]
    if not text or text.strip("_") == "":
        raise InputRefused(f"file name {name!r} has no usable characters left once path "
                           "separators, control characters and leading dots are removed")
    return text


def check_size(size: int, config: InputsConfig, *, where: str) -> None:
    limit = config.max_size
    if size == 0:
        raise InputRefused(f"{where}: the file is empty")
    if size > limit.bytes:
        raise InputRefused(
            f"{where}: {size / 1_000_000:.1f} MB is over the limit of {limit.megabytes:g} MB "
            f"(config/inputs.yaml max_size, {limit.basis})")


def detect_type(content: bytes) -> str | None:
    """``pdf``, ``docx``, ``odt``, ``html`` or ``txt`` from the bytes; None if none of them."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"PK\x03\x04"):
        return _zip_type(content)
    text = _utf8(content)
    if text is None or _TEXT_CONTROLS.search(text):
        return None
    head = text.lstrip("\ufeff \t\r\n").lower()
    while head.startswith("<!--"):  # comments may precede the doctype
        end = head.find("-->")
        if end < 0:
            break
        head = head[end + 3:].lstrip()
    if head.startswith(("<!doctype html", "<html")):
        return "html"
    return "txt"


def _zip_type(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            if names and names[0] == "mimetype":
                info = archive.getinfo("mimetype")
                if info.file_size <= 200 and archive.read(info).strip() == ODT_MIMETYPE:
                    return "odt"
                return None
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return "docx"
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError):
        return None
    return None


def _utf8(content: bytes) -> str | None:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def describe(content: bytes) -> str:
    """What unaccepted content looks like, for the refusal."""
    for magic, words in _LOOKS_LIKE:
        if content.startswith(magic):
            return words
    if content.startswith(b"PK\x03\x04"):
        return "a ZIP archive that is neither a DOCX nor an ODT document"
    if _utf8(content) is None:
        return "binary data, or text that is not UTF-8"
    return "text with control characters"


def check_document(content: bytes, filename: str, config: InputsConfig) -> AcceptedType:
    """The accepted type of ``content`` (its name already sanitised), or InputRefused."""
    check_size(len(content), config, where=filename)
    names = ", ".join(t.id.upper() for t in config.accepted_types)
    type_id = detect_type(content)
    accepted = config.accepted(type_id) if type_id else None
    if accepted is None:
        found = type_id.upper() if type_id else describe(content)
        raise InputRefused(f"{filename}: the content is {found}, not one of the accepted "
                           f"types ({names})")
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension not in accepted.extensions:
        named = f"named .{extension}" if extension else "named without an extension"
        raise InputRefused(
            f"{filename}: {named} but the content is {accepted.id.upper()}: rename it "
            f"with .{accepted.extensions[0]}")
    return accepted
