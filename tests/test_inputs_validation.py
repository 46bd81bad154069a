"""Checks on a document before it is stored: type by content, size, name; sidecar metadata."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from imrf.inputs.config import load_inputs_config
from imrf.inputs.intake import read_sidecar
from imrf.inputs.validation import (
    InputRefused,
    check_document,
    detect_type,
    sanitise_filename,
)

CONFIG = load_inputs_config()
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODT = zipped({"mimetype": b"application/vnd.oasis.opendocument.text",
              "content.xml": b"<office:document-content/>"})
XLSX = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
ODS = zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})


@pytest.mark.parametrize(("content", "expected"), [
    (PDF, "pdf"), (DOCX, "docx"), (ODT, "odt"),
    (b"<!DOCTYPE html><html lang='en'><body>x</body></html>", "html"),
    (b"\xef\xbb\xbf<!-- note -->\n<html><body>x</body></html>", "html"),
    ("Rapport national — migration\n".encode(), "txt"),
    (XLSX, None), (ODS, None), (b"MZ\x90\x00", None), (b"\x89PNG\r\n", None),
    ("caf\xe9".encode("latin-1"), None), (b"text\x00with NUL", None),
])
def test_the_type_comes_from_the_content(content: bytes, expected: str | None) -> None:
    assert detect_type(content) == expected


def test_a_program_disguised_as_a_pdf_is_refused() -> None:
    with pytest.raises(InputRefused, match=r"report\.pdf: the content is a Windows program, "
                                           r"not one of the accepted types \(PDF, DOCX"):
        check_document(b"MZ\x90\x00\x03" + b"\x00" * 100, "report.pdf", CONFIG)


def test_html_renamed_pdf_is_refused_naming_the_real_type() -> None:
    with pytest.raises(InputRefused, match=r"named \.pdf but the content is HTML: rename it "
                                           r"with \.html"):
        check_document(b"<html><script>alert(1)</script></html>", "report.pdf", CONFIG)


def test_a_spreadsheet_in_a_docx_name_is_refused() -> None:
    with pytest.raises(InputRefused, match="ZIP archive that is neither a DOCX nor an ODT"):
        check_document(XLSX, "report.docx", CONFIG)


def test_accepted_documents_give_their_media_type() -> None:
    assert check_document(PDF, "Report.PDF", CONFIG).media_type == "application/pdf"
    assert check_document(ODT, "r.odt", CONFIG).media_type == \
        "application/vnd.oasis.opendocument.text"
    assert check_document(DOCX, "r.docx", CONFIG).id == "docx"


def test_oversize_and_empty_files_are_refused() -> None:
    limit = CONFIG.max_size.bytes
    assert limit == 20_000_000
    with pytest.raises(InputRefused, match=r"20\.0 MB is over the limit of 20 MB"):
        check_document(PDF + b" " * (limit + 1 - len(PDF)), "big.pdf", CONFIG)
    check_document(PDF + b" " * (limit - len(PDF)), "exactly.pdf", CONFIG)  # at the limit
    with pytest.raises(InputRefused, match="empty"):
        check_document(b"", "empty.txt", CONFIG)


@pytest.mark.parametrize(("given", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
    ("/absolute/path/report.pdf", "report.pdf"),
    ("con\x00trol.pdf", "control.pdf"),
    ("line\nbreak\r.txt", "linebreak.txt"),
    ("...hidden.pdf", "hidden.pdf"),
    (".bashrc", "bashrc"),
    ("r\u202eFDP.exe", "rFDP.exe"),
    ("rapport <final>|v2?.pdf", "rapport _final_v2_.pdf"),
    ("CON.txt", "_CON.txt"),
    ("informe_migración.pdf", "informe_migración.pdf"),
])
def test_file_names_are_sanitised(given: str, safe: str) -> None:
    assert sanitise_filename(given) == safe


def test_a_long_name_keeps_its_extension() -> None:
    name = sanitise_filename("x" * 300 + ".pdf")
    assert len(name) == 120 and name.endswith(".pdf")


@pytest.mark.parametrize("given", ["..", "../..", "\x00\x01", "/", "...", " . "])
def test_a_name_with_nothing_usable_is_refused(given: str) -> None:
    with pytest.raises(InputRefused, match="no usable characters"):
        sanitise_filename(given)


def test_a_sidecar_error_names_the_file_and_key(tmp_path: Path) -> None:
    sidecar = tmp_path / "r.pdf.yaml"
    sidecar.write_text("edition: 2030\nlevel: planetary\nsubmitter: a@b.org\n"
                       "objectives: [1]\ntitle: T\nlanguage: en\n", encoding="utf-8")
    with pytest.raises(InputRefused, match=r"^r\.pdf\.yaml: level: Input should be"):
        read_sidecar(sidecar)
    sidecar.write_text("edition: [2030\n", encoding="utf-8")
    with pytest.raises(InputRefused, match=r"^r\.pdf\.yaml: line \d+: invalid YAML"):
        read_sidecar(sidecar)
    sidecar.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(InputRefused, match="expected a mapping"):
        read_sidecar(sidecar)


def test_a_json_sidecar_with_a_bad_address_and_objective(tmp_path: Path) -> None:
    sidecar = tmp_path / "r.pdf.json"
    sidecar.write_text('{"edition": 2030, "level": "global", "submitter": "not-an-address", '
                       '"objectives": [5], "title": "T", "language": "en"}', encoding="utf-8")
    with pytest.raises(InputRefused, match="submitter: not a valid e-mail address"):
        read_sidecar(sidecar)
    sidecar.write_text('{"edition": 2030, "level": "global", "submitter": "A@B.org", '
                       '"objectives": [5, 1, 5], "title": " T ", "language": "pt-BR"}',
                       encoding="utf-8")
    meta = read_sidecar(sidecar)
    assert (meta.submitter, meta.objectives, meta.title) == ("a@b.org", (1, 5), "T")
