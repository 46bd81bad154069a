"""The inputs website (OP14): what it publishes, how it escapes, how it rebuilds."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from imrf.calendar import build_calendar
from imrf.inputs.models import Document, Level, Status, Submission
from imrf.milestones import EditionCalendar
from imrf.site import SiteError, build_site
from imrf.site.sample import sample_submissions
from imrf.site.views import http_link, safe_filename
from imrf.vocabulary import Commission

EDITION = 2030
ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = "<script>alert(1)</script> & \"quotes\" 'too'"


@pytest.fixture(scope="module")
def calendar() -> EditionCalendar:
    return build_calendar(EDITION)


def submission(id: str, **changes: object) -> Submission:
    data: dict[str, object] = {
        "id": id, "edition": EDITION, "level": Level.NATIONAL,
        "submitter_email": "focal@example.org", "submitter_name": "A. Focal Point",
        "organization": "Ministry of Interior", "state": "KEN", "objectives": (7, 23),
        "title": f"Review {id}", "language": "en", "received_on": dt.date(2029, 11, 2),
        "document": Document(link="https://example.org/review.pdf"),
        "status": Status.ACCEPTED,
    }
    data.update(changes)
    return Submission.model_validate(data)


def read(site: Path, relative: str) -> str:
    return (site / str(EDITION) / relative).read_text(encoding="utf-8")


class _Links(HTMLParser):
    """Every href and src, the tags seen, and the lang of <html>."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        for name in ("href", "src"):
            if values.get(name) is not None:
                self.hrefs.append(str(values[name]))


def parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def test_every_page_and_filter_is_pre_rendered(tmp_path: Path,
                                               calendar: EditionCalendar) -> None:
    inputs = [
        submission("ken-review"),
        submission("eca-outcome", level=Level.REGIONAL, state=None, commission=Commission.ECA,
                   objectives=(2,), organization="Economic Commission for Africa"),
        submission("global-idm", level=Level.GLOBAL, state=None, objectives=(23,)),
    ]
    report = build_site(edition=EDITION, submissions=inputs, calendar=calendar,
                        output=tmp_path / "site")
    assert report.inputs == 3 and report.written == report.pages
    site = tmp_path / "site"
    national = read(site, "level/national/index.html")
    assert "Review ken-review" in national and "Review eca-outcome" not in national
    assert "Review ken-review" in read(site, "region/african/index.html")
    assert "Review ken-review" not in read(site, "region/weog/index.html")
    assert "Review eca-outcome" in read(site, "commission/eca/index.html")
    seven = read(site, "objective/7/index.html")
    assert "Review ken-review" in seven and "Review global-idm" not in seven
    assert "Reduce vulnerabilities" in seven  # the objective's title from the reference
    overview = read(site, "objectives/index.html")
    assert overview.count('<h2><a href="../objective/') == 23
    page = read(site, "inputs/ken-review.html")
    assert "Kenya" in page and "African States" in page
    assert 'href="https://example.org/review.pdf"' in page
    index = read(site, "index.html")
    assert "Inputs 1–3 of 3" in index
    for level_link in ("level/national/index.html", "level/stakeholder/index.html"):
        assert f'href="{level_link}"' in index  # filters are plain links: no JavaScript
    assert "<script" not in index
    assert "Calendar of the IMRF 2030" in read(site, "calendar/index.html")
    assert "imrf-inputs" not in index
    assert (site / "index.html").read_text().count('href="2030/index.html"') == 1


def test_only_accepted_inputs_of_the_edition_are_published(tmp_path: Path,
                                                            calendar: EditionCalendar) -> None:
    inputs = [submission("ok"), submission("held", status=Status.HELD),
              submission("rejected", status=Status.REJECTED),
              submission("other-year", edition=2026)]
    report = build_site(edition=EDITION, submissions=inputs, calendar=calendar,
                        output=tmp_path / "site")
    assert (report.inputs, report.skipped) == (1, 3)
    index = read(tmp_path / "site", "index.html")
    assert "Review ok" in index
    assert not any(f"Review {name}" in index for name in ("held", "rejected", "other-year"))
    assert not (tmp_path / "site" / "2030" / "inputs" / "held.html").exists()


def test_submitter_text_is_escaped_everywhere(tmp_path: Path, calendar: EditionCalendar) -> None:
    hostile = submission("hostile", title=HOSTILE, organization="<img src=x onerror=alert(1)>",
                         language="en\"><script>")
    build_site(edition=EDITION, submissions=[hostile], calendar=calendar,
               output=tmp_path / "site")
    site = tmp_path / "site"
    for relative in ("index.html", "inputs/hostile.html", "objective/7/index.html",
                     "objectives/index.html", "level/national/index.html"):
        html = read(site, relative)
        assert "<script>" not in html and "<img" not in html, relative
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, relative
    page = read(site, "inputs/hostile.html")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "lang=\"en&#34;" not in page  # an invalid language tag gets no lang attribute
    feed = ET.fromstring(read(site, "feed.xml"))
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == HOSTILE  # the reader gets the text back


def test_control_characters_and_lone_surrogates_do_not_break_html_or_atom(
        tmp_path: Path, calendar: EditionCalendar) -> None:
    # Validation refuses a lone surrogate; the site must survive one all the same.
    odd = submission("odd").model_copy(
        update={"title": "Line\x00one\x1b[31m\u202eevil\ud800 \ufffe end"})
    build_site(edition=EDITION, submissions=[odd], calendar=calendar, output=tmp_path / "s")
    feed = ET.fromstring(read(tmp_path / "s", "feed.xml"))  # raises on an invalid character
    title = feed.findtext(f"{ATOM}entry/{ATOM}title") or ""
    assert "Line one" in title and "\u202e" not in title and "\x1b" not in title


def test_links_are_http_only(tmp_path: Path, calendar: EditionCalendar) -> None:
    bad = submission("bad-link").model_copy(update={"document": Document.model_construct(
        link="javascript:alert(1)", filename=None, media_type=None, size=None, sha256=None)})
    build_site(edition=EDITION, submissions=[bad], calendar=calendar, output=tmp_path / "s")
    page = read(tmp_path / "s", "inputs/bad-link.html")
    assert "javascript:" not in page
    assert "no valid link was given" in page
    for href in parse(page).hrefs:
        assert not href.lower().startswith(("javascript:", "data:", "vbscript:")), href
    assert http_link("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for value in ("javascript:alert(1)", "JAVASCRIPT:x", "data:text/html,x", "//evil.org",
                  "https://x.org/\"onmouseover=alert(1)", "http://a b", "ftp://x.org"):
        assert http_link(value) is None, value


def test_stored_documents_are_copied_under_a_sanitised_name(tmp_path: Path,
                                                            calendar: EditionCalendar) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"%PDF-1.7 report")
    stored = submission("stored", document=Document(
        filename="../../etc/passwd Rapport é.pdf", media_type="application/pdf",
        size=15, sha256="a" * 64))
    page_only = submission("elsewhere", document=Document(
        filename="page.html", media_type="text/html", size=5, sha256="b" * 64))
    report = build_site(edition=EDITION, submissions=[stored, page_only], calendar=calendar,
                        output=tmp_path / "s",
                        documents=lambda s: blob if s.id == "stored" else None)
    copied = tmp_path / "s" / "2030" / "documents"
    assert [p.name for p in copied.iterdir()] == ["stored-passwd-Rapport-e.pdf"]
    assert (copied / "stored-passwd-Rapport-e.pdf").read_bytes() == b"%PDF-1.7 report"
    assert report.copied == 1
    page = read(tmp_path / "s", "inputs/stored.html")
    assert 'href="../documents/stored-passwd-Rapport-e.pdf" download' in page
    assert "not available online" in read(tmp_path / "s", "inputs/elsewhere.html")
    # A submitter's HTML is never published as a page of the site.
    assert safe_filename("page.html", "text/html") == "page.html.txt"
    assert safe_filename("..\\..\\x.exe", "application/x-msdownload") == "x.bin"
    assert safe_filename(".htaccess", "text/plain") == "htaccess.txt"
    assert safe_filename("", None) == "document.bin"


def test_pages_are_accessible_landmarks_and_need_nothing_external(
        tmp_path: Path, calendar: EditionCalendar) -> None:
    build_site(edition=EDITION, submissions=sample_submissions(30, edition=EDITION),
               calendar=calendar, output=tmp_path / "s")
    edition_dir = tmp_path / "s" / "2030"
    pages = sorted(edition_dir.rglob("*.html"))
    assert len(pages) > 60
    for path in pages:
        html = path.read_text(encoding="utf-8")
        parsed = parse(html)
        where = path.relative_to(edition_dir)
        assert parsed.lang == "en", where
        assert 'name="viewport"' in html and 'class="skip-link" href="#main"' in html, where
        assert '<main id="main"' in html and parsed.tags.count("h1") == 1, where
        assert parsed.tags.count("nav") >= 1, where
        assert "script" not in parsed.tags, where
        headings = [int(t[1]) for t in parsed.tags if t in ("h1", "h2", "h3", "h4")]
        assert headings[0] == 1, where
        assert all(b - a <= 1 for a, b in itertools.pairwise(headings)), where
        for href in parsed.hrefs:
            if href.startswith(("#", "https://example.org/")):
                continue
            assert "://" not in href and not href.startswith("//"), (where, href)
            target = (path.parent / href.split("#")[0]).resolve()
            assert target.exists(), (where, href)  # no broken internal link
        assert "<img" not in html or 'alt="' in html, where


def test_pages_are_split_and_linked(tmp_path: Path, calendar: EditionCalendar) -> None:
    build_site(edition=EDITION, submissions=sample_submissions(25, edition=EDITION),
               calendar=calendar, output=tmp_path / "s", page_size=10)
    assert "Inputs 21–25 of 25" in read(tmp_path / "s", "page-3.html")
    first = read(tmp_path / "s", "index.html")
    assert 'href="page-2.html"' in first and 'aria-current="page">1<' in first
    assert not (tmp_path / "s" / "2030" / "page-4.html").exists()


def test_atom_feed_is_valid_and_newest_first(tmp_path: Path, calendar: EditionCalendar) -> None:
    inputs = sample_submissions(60, edition=EDITION)
    build_site(edition=EDITION, submissions=inputs, calendar=calendar, output=tmp_path / "s",
               base_url="https://inputs.example.org/")
    feed = ET.fromstring(read(tmp_path / "s", "feed.xml"))
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 50
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 50 and all(i and i.startswith("urn:uuid:") for i in ids)
    updated = [dt.datetime.fromisoformat(e.findtext(f"{ATOM}updated") or "") for e in entries]
    assert updated == sorted(updated, reverse=True) and updated[0].utcoffset() is not None
    newest = max(inputs, key=lambda s: (s.received_on, [-ord(c) for c in s.id]))
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href") == (
        f"https://inputs.example.org/2030/inputs/{newest.id}.html")


def test_rebuild_writes_only_what_changed(tmp_path: Path, calendar: EditionCalendar) -> None:
    inputs = sample_submissions(40, edition=EDITION)
    output = tmp_path / "s"
    first = build_site(edition=EDITION, submissions=inputs, calendar=calendar, output=output)
    again = build_site(edition=EDITION, submissions=inputs, calendar=calendar, output=output)
    assert again.written == 0 and again.pages == first.pages
    untouched = output / "2030" / "inputs" / f"{inputs[5].id}.html"
    before = untouched.stat().st_mtime_ns
    late = submission("late", received_on=dt.date(2030, 3, 1), objectives=(9,))
    after = build_site(edition=EDITION, submissions=[*inputs, late], calendar=calendar,
                       output=output)
    assert 0 < after.written < 20
    assert untouched.stat().st_mtime_ns == before
    assert "Review late" in read(output, "index.html")
    assert "Review late" in read(output, "objective/9/index.html")
    # A page deleted by hand comes back; a withdrawn input's page goes away.
    untouched.unlink()
    build_site(edition=EDITION, submissions=[*inputs, late], calendar=calendar, output=output)
    assert untouched.exists()
    final = build_site(edition=EDITION, submissions=inputs, calendar=calendar, output=output)
    assert final.removed == 1 and not (output / "2030" / "inputs" / "late.html").exists()
    assert "Review late" not in read(output, "index.html")


def test_a_changed_input_is_republished_in_every_list(tmp_path: Path,
                                                      calendar: EditionCalendar) -> None:
    inputs = sample_submissions(12, edition=EDITION)
    output = tmp_path / "s"
    build_site(edition=EDITION, submissions=inputs, calendar=calendar, output=output)
    retitled = inputs[0].model_copy(update={"title": "A corrected title"})
    build_site(edition=EDITION, submissions=[retitled, *inputs[1:]], calendar=calendar,
               output=output)
    objective = retitled.objectives[0]
    for relative in ("index.html", f"objective/{objective}/index.html",
                     f"inputs/{retitled.id}.html"):
        html = read(output, relative)
        assert "A corrected title" in html and inputs[0].title not in html, relative


def test_output_that_is_a_file_or_a_foreign_folder_is_refused(
        tmp_path: Path, calendar: EditionCalendar) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("keep me")
    with pytest.raises(SiteError, match="is a file"):
        build_site(edition=EDITION, submissions=[], calendar=calendar, output=a_file)
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "index.html").write_text("mine")
    with pytest.raises(SiteError, match="other files"):
        build_site(edition=EDITION, submissions=[], calendar=calendar, output=foreign)
    assert a_file.read_text() == "keep me" and (foreign / "index.html").read_text() == "mine"
    with pytest.raises(SiteError, match="calendar is of IMRF 2030"):
        build_site(edition=2026, submissions=[], calendar=calendar, output=tmp_path / "x")


def test_manifest_lists_pages_and_documents(tmp_path: Path, calendar: EditionCalendar) -> None:
    build_site(edition=EDITION, submissions=[submission("one")], calendar=calendar,
               output=tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "2030" / ".manifest.json").read_text())
    assert "inputs/one.html" in manifest["pages"] and manifest["documents"] == {}
