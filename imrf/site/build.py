"""The public inputs website of an edition (OP14): static pages that need no JavaScript.

Layout of the output folder (every link is relative, so the site works from any address)::

    index.html, style.css           the editions built there, the one style sheet
    <edition>/index.html, page-N    every input, newest first, with counts by level
    <edition>/level/<level>/        national, regional, global, stakeholder
    <edition>/region/<group>/       the Member State's regional group (national inputs)
    <edition>/commission/<id>/      the regional commission (regional inputs)
    <edition>/objective/<n>/        1 to 23: the inputs that address the objective
    <edition>/objectives/           the 23 objectives with their counts and latest inputs
    <edition>/calendar/             the edition's milestones
    <edition>/inputs/<id>.html      one page per input: its metadata and document
    <edition>/documents/<id>-<name> the stored documents, under a sanitised name
    <edition>/feed.xml              Atom feed of the newest inputs
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict

from imrf.calendar_export import when
from imrf.inputs.models import Level, Status, Submission
from imrf.milestones import EditionCalendar
from imrf.rendering import human_date
from imrf.site.templates import environment, style_sheet, templates_fingerprint
from imrf.site.views import (
    GROUP_LABELS,
    LEVEL_LABELS,
    DocumentPath,
    InputView,
    Reference,
    document_href,
    http_link,
    input_view,
    regional_group,
    submission_digest,
)
from imrf.site.writer import (
    MANIFEST,
    FragmentCache,
    IncrementalWriter,
    SiteError,
    key_of,
    locked,
    prepare_output,
    write_if_changed,
)
from imrf.vocabulary import RegionalGroup

PAGE_SIZE = 100
FEED_SIZE = 50
OVERVIEW_LATEST = 3
NEW_YORK = ZoneInfo("America/New_York")
_GENERATOR = "imrf-site/1"
_TO_EDITION = "\x00to-edition\x00"  # rows are rendered once, then placed at any depth


class SiteReport(BaseModel):
    """What one build did (the flow returns it; the CLI prints it)."""

    model_config = ConfigDict(frozen=True)

    edition: int
    output: Path
    inputs: int
    skipped: int  # given but not published: another edition, or not accepted
    pages: int
    written: int
    documents: int
    copied: int
    removed: int

    def line(self) -> str:
        return (f"IMRF {self.edition}: {self.inputs} inputs published in {self.output} "
                f"({self.pages} pages, {self.written} written; {self.documents} documents, "
                f"{self.copied} copied; {self.removed} removed"
                + (f"; {self.skipped} not published: not accepted or another edition)"
                   if self.skipped else ")"))


@dataclass(frozen=True, slots=True)
class _Entry:
    """A published input before its view is needed (most pages are not re-rendered)."""

    submission: Submission
    digest: str
    source: Path | None
    group: RegionalGroup | None


@dataclass(frozen=True)
class _Facet:
    kind: str  # "all", "level", "region", "commission", "objective"
    slug: str
    folder: str  # relative to the edition folder, "" for all
    label: str  # for the filter links
    heading: str


def build_site(
    *,
    edition: int,
    submissions: Iterable[Submission],
    calendar: EditionCalendar,
    output: Path,
    documents: DocumentPath | None = None,
    config_dir: Path | None = None,
    base_url: str | None = None,
    page_size: int = PAGE_SIZE,
) -> SiteReport:
    """Build (or bring up to date) the website of ``edition`` in ``output/<edition>/``.

    Only accepted inputs of that edition are published. ``documents`` maps a submission to
    its stored file (the registry's ``document_path``); without it, or when it returns None,
    a stored document is named but not linked. ``base_url`` (http(s), ending in ``/``) makes
    the feed's links absolute. Pages whose content did not change are not rewritten.
    Raises :class:`SiteError` for an output that is a file or a folder of other files.
    """
    if calendar.edition != edition:
        raise SiteError(f"the calendar is of IMRF {calendar.edition}, not {edition}")
    if base_url is not None and (http_link(base_url) is None or not base_url.endswith("/")):
        raise SiteError(f"base URL {base_url!r} is not an http(s) URL ending in '/'")
    if page_size < 1:
        raise SiteError(f"page size must be at least 1, got {page_size}")
    ref = Reference(config_dir)
    given = 0
    entries: list[_Entry] = []
    for submission in submissions:
        given += 1
        if submission.edition == edition and submission.status is Status.ACCEPTED:
            source = (documents(submission) if documents is not None
                      and submission.document.sha256 is not None else None)
            entries.append(_Entry(submission, submission_digest(submission, source), source,
                                  regional_group(submission, ref)))
    entries.sort(key=lambda e: e.submission.id)
    entries.sort(key=lambda e: e.submission.received_on, reverse=True)  # newest first
    if len({e.submission.id for e in entries}) != len(entries):
        raise SiteError(f"IMRF {edition}: two inputs share an id")

    prepare_output(output)
    fingerprint = key_of(_GENERATOR, templates_fingerprint(), ref.fingerprint(), edition,
                         base_url, page_size)
    with locked(output):
        folder = output / str(edition)
        folder.mkdir(exist_ok=True)
        writer = IncrementalWriter(folder, fingerprint)
        builder = _Builder(edition, calendar, ref, entries, writer, base_url, page_size)
        builder.build()
        for entry in entries:
            sha = entry.submission.document.sha256
            if entry.source is not None and sha is not None:
                writer.document(document_href(entry.submission), sha, entry.source)
        removed = writer.finish()
        _write_root(output)
    return SiteReport(edition=edition, output=output, inputs=len(entries),
                      skipped=given - len(entries), pages=len(writer.pages),
                      written=writer.written, documents=len(writer.documents),
                      copied=writer.copied, removed=removed)


def _write_root(output: Path) -> None:
    """The root index lists every edition built in ``output``; one style sheet for all."""
    env = environment()
    editions = sorted((int(p.name) for p in output.iterdir()
                       if p.name.isdigit() and (p / MANIFEST).exists()), reverse=True)
    html = env.get_template("root.html.j2").render(
        page_title="Inputs to the International Migration Review Forum", to_root="",
        to_edition="", edition=None, section="", editions=editions)
    write_if_changed(output / "index.html", html.encode())
    write_if_changed(output / "style.css", style_sheet())


class _Builder:
    """One build of one edition: decides the pages and their keys, renders the changed ones."""

    def __init__(self, edition: int, calendar: EditionCalendar, ref: Reference,
                 entries: list[_Entry], writer: IncrementalWriter, base_url: str | None,
                 page_size: int) -> None:
        self.edition = edition
        self.calendar = calendar
        self.ref = ref
        self.entries = entries
        self._views: dict[str, InputView] = {}
        self.writer = writer
        self.base_url = base_url
        self.page_size = page_size
        self.env = environment()
        self.row = self.env.get_template("_row.html.j2")
        self.fragments = FragmentCache(writer.folder, writer.fingerprint)
        self.facets = self._facets()
        self.filters = self._filters()

    def _facets(self) -> list[_Facet]:
        year = f"IMRF {self.edition}"
        facets = [_Facet("all", "", "", "All inputs", f"Inputs to the {year}")]
        facets += [_Facet("level", lv.value, f"level/{lv.value}/", label,
                          f"{label} inputs to the {year}") for lv, label in LEVEL_LABELS.items()]
        facets += [_Facet("region", g.value, f"region/{g.value}/", label,
                          f"Inputs from {label} to the {year}")
                   for g, label in GROUP_LABELS.items()]
        facets += [_Facet("commission", c.value, f"commission/{c.value}/", info.region,
                          f"Inputs from the {info.name} to the {year}")
                   for c, info in self.ref.commissions.items()]
        facets += [_Facet("objective", str(n), f"objective/{n}/", f"{n}. {title}",
                          f"Objective {n}: {title}: inputs to the {year}")
                   for n, title in sorted(self.ref.objectives.items())]
        return facets

    def _filters(self) -> list[dict[str, Any]]:
        groups = [("level", "Level", True), ("region", "Regional group", True),
                  ("commission", "Regional commission", False),
                  ("objective", "Objective", False)]
        return [{"kind": kind, "label": label, "open": is_open,
                 "links": [{"kind": f.kind, "slug": f.slug, "label": f.label,
                            "href": f"{f.folder}index.html"}
                           for f in self.facets if f.kind == kind]}
                for kind, label, is_open in groups]

    def view(self, entry: _Entry) -> InputView:
        found = self._views.get(entry.submission.id)
        if found is None:
            found = self._views[entry.submission.id] = input_view(
                entry.submission, self.ref, entry.source, entry.digest)
        return found

    def _members(self) -> dict[tuple[str, str], list[_Entry]]:
        members: dict[tuple[str, str], list[_Entry]] = {
            (f.kind, f.slug): [] for f in self.facets}
        for entry in self.entries:  # newest first: each list keeps that order
            submission = entry.submission
            members["all", ""].append(entry)
            members["level", submission.level.value].append(entry)
            if entry.group is not None:
                members["region", entry.group.value].append(entry)
            if submission.commission is not None:
                members["commission", submission.commission.value].append(entry)
            for number in sorted(set(submission.objectives)):
                members["objective", str(number)].append(entry)
        return members

    def _common(self, to_edition: str, section: str, title: str) -> dict[str, Any]:
        return {"edition": self.edition, "to_edition": to_edition,
                "to_root": to_edition + "../", "section": section, "page_title": title}

    def build(self) -> None:
        members = self._members()
        for facet in self.facets:
            self._listing(facet, members[facet.kind, facet.slug],
                          members if facet.kind == "all" else None)
        for entry in self.entries:
            self._input(entry)
        self._objectives(members)
        self._calendar()
        self._feed()
        self.fragments.save({e.submission.id for e in self.entries})

    def _row(self, entry: _Entry) -> str:
        return self.row.render(item=self.view(entry), to_edition=_TO_EDITION)

    def _rows_html(self, chunk: Sequence[_Entry], to_edition: str) -> Markup:
        """The chunk's rows, each rendered once per build whatever page shows it."""
        rows = [self.fragments.get(entry.submission.id, entry.digest, partial(self._row, entry))
                for entry in chunk]
        # Submitter text cannot hold the marker: clean() turns control characters to spaces.
        return Markup("\n".join(rows).replace(_TO_EDITION, to_edition))  # noqa: S704

    def _listing(self, facet: _Facet, items: Sequence[_Entry],
                 members: dict[tuple[str, str], list[_Entry]] | None) -> None:
        to_edition = "../" * facet.folder.count("/")
        count = max(1, -(-len(items) // self.page_size))
        names = ["index.html"] + [f"page-{n}.html" for n in range(2, count + 1)]
        summary = None
        if members is not None:
            summary = [(LEVEL_LABELS[lv], f"level/{lv.value}/index.html",
                        len(members["level", lv.value])) for lv in Level]
        inputs_due = self._inputs_due()
        for number, name in enumerate(names, start=1):
            chunk = items[(number - 1) * self.page_size:number * self.page_size]
            title = facet.heading + (f" (page {number} of {count})" if count > 1 else "")

            def render(chunk: Sequence[_Entry] = chunk, number: int = number,
                       title: str = title) -> str:
                first = (number - 1) * self.page_size + 1
                return self.env.get_template("listing.html.j2").render(
                    self._common(to_edition, "inputs", title),
                    heading=facet.heading if count == 1 else title, intro=None,
                    summary=summary if number == 1 else None, inputs_due=inputs_due,
                    filters=self.filters, current=(facet.kind, facet.slug),
                    rows=self._rows_html(chunk, to_edition),
                    first=first, last=first + len(chunk) - 1, total=len(items),
                    page=number, pages=list(zip(range(1, count + 1), names, strict=True)))

            key = key_of("listing", facet, number, count, len(items),
                         summary if number == 1 else None, inputs_due,
                         [e.digest for e in chunk])
            self.writer.page(facet.folder + name, key, render)

    def _inputs_due(self) -> str | None:
        try:
            return human_date(self.calendar.get("inputs-due").last_day)
        except KeyError:
            return None

    def _input(self, entry: _Entry) -> None:
        def render() -> str:
            view = self.view(entry)
            return self.env.get_template("input.html.j2").render(
                self._common("../", "inputs", f"{view.title}: IMRF {self.edition} input"),
                item=view)

        self.writer.page(f"inputs/{entry.submission.id}.html",
                         key_of("input", entry.digest), render)

    def _objectives(self, members: dict[tuple[str, str], list[_Entry]]) -> None:
        numbers = sorted(self.ref.objectives)
        addressed = {n: members["objective", str(n)] for n in numbers}

        def render() -> str:
            objectives = [{"number": n, "title": self.ref.objectives[n],
                           "count": len(addressed[n]),
                           "latest": [self.view(e) for e in addressed[n][:OVERVIEW_LATEST]]}
                          for n in numbers]
            return self.env.get_template("objectives.html.j2").render(
                self._common("../", "objectives",
                             f"The 23 objectives: inputs to the IMRF {self.edition}"),
                objectives=objectives)

        key = key_of("objectives", [(n, len(addressed[n]),
                                     [e.digest for e in addressed[n][:OVERVIEW_LATEST]])
                                    for n in numbers])
        self.writer.page("objectives/index.html", key, render)

    def _calendar(self) -> None:
        cal = self.calendar
        milestones = [{"id": m.id, "when": when(m), "title": m.title, "rule": m.rule,
                       "default": m.basis != "text"} for m in cal.milestones]

        def render() -> str:
            return self.env.get_template("calendar.html.j2").render(
                self._common("../", "calendar", f"Calendar of the IMRF {self.edition}"),
                milestones=milestones, forum_start=human_date(cal.forum_start),
                forum_end=human_date(cal.forum_end))

        self.writer.page("calendar/index.html", key_of("calendar", cal.model_dump_json()),
                         render)

    def _feed(self) -> None:
        latest = self.entries[:FEED_SIZE]
        base = self.base_url + f"{self.edition}/" if self.base_url else ""
        updated = _atom_time(latest[0].submission.received_on if latest
                             else self.calendar.forum_start)

        def render() -> str:
            entries = [{"id": _urn(self.edition, e.submission.id), "item": self.view(e),
                        "updated": _atom_time(e.submission.received_on)} for e in latest]
            return self.env.get_template("feed.xml.j2").render(
                edition=self.edition, feed_id=_urn(self.edition, "feed"), updated=updated,
                base=base, entries=entries)

        self.writer.page("feed.xml", key_of("feed", base, updated,
                                            [e.digest for e in latest]), render)


def _urn(edition: int, name: str) -> str:
    """A stable Atom id that needs no domain: a name-based UUID."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"imrf-inputs-site:{edition}:{name}").urn


def _atom_time(day: dt.date) -> str:
    """Midnight in New York of ``day``, as an RFC 3339 date-time."""
    return dt.datetime.combine(day, dt.time(), tzinfo=NEW_YORK).isoformat()


__all__ = ["PAGE_SIZE", "SiteError", "SiteReport", "build_site"]
