"""What the website shows of an input: plain, display-ready values, derived once per build.

Every text here came from a submitter. It is made one line (no control characters, no bidi
overrides) but NOT escaped: the templates' autoescaping does that, in one place. Links are
kept only when they are http(s); a stored document gets a sanitised name inside the site.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from imrf import reference
from imrf.inputs.models import Level, Submission
from imrf.rendering import human_date, one_line
from imrf.vocabulary import Commission, RegionalGroup

DocumentPath = Callable[[Submission], Path | None]

LEVEL_LABELS = {
    Level.NATIONAL: "National",
    Level.REGIONAL: "Regional",
    Level.GLOBAL: "Global",
    Level.STAKEHOLDER: "Stakeholders",
}
GROUP_LABELS = {
    RegionalGroup.AFRICAN: "African States",
    RegionalGroup.ASIA_PACIFIC: "Asia-Pacific States",
    RegionalGroup.EASTERN_EUROPEAN: "Eastern European States",
    RegionalGroup.GRULAC: "Latin American and Caribbean States",
    RegionalGroup.WEOG: "Western European and other States",
}
# The extension a stored document is published under, by the media type the registry
# detected from its content. HTML is published as text: a submitter's page must never run
# on the site's own origin.
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "text/plain": ".txt",
    "text/html": ".html.txt",
}
_MEDIA_LABELS = {"application/pdf": "PDF", "text/plain": "text", "text/html": "HTML (as text)",
                 "application/vnd.oasis.opendocument.text": "ODT",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
                 "Word (DOCX)"}
_URL = re.compile(r"^https?://[^\s\"'<>\\`\x00-\x1f\x7f]+$", re.IGNORECASE)
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
# Lone surrogates cannot be encoded, U+FFFE/U+FFFF are not allowed in XML.
_UNENCODABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def clean(value: str) -> str:
    """Submitter text as one line that any HTML or XML page can carry (escaping aside)."""
    return _UNENCODABLE.sub("\ufffd", one_line(value))


def http_link(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) URL without spaces or quotes, else None."""
    return value if value is not None and _URL.match(value) else None


def safe_filename(name: str | None, media_type: str | None) -> str:
    """A file name that is safe in a URL and on any file system, with an extension that
    matches the detected content (``../../etc/passwd`` -> ``passwd.bin``)."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    stem = base.split(".")[0] if not base.startswith(".") else base.lstrip(".").split(".")[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    clean = _UNSAFE_NAME.sub("-", ascii_stem).strip("-_")[:80] or "document"
    return clean + _EXTENSIONS.get(media_type or "", ".bin")


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True, slots=True)
class DocumentView:
    href: str | None  # relative to the edition's folder (stored) or absolute (a link)
    stored: bool
    label: str  # what the link says, e.g. "report.pdf (PDF, 120 KB)"
    source: Path | None = None  # the stored file to copy into the site


@dataclass(frozen=True, slots=True)
class InputView:
    id: str
    digest: str  # see submission_digest
    title: str
    language: str | None  # a valid BCP 47-looking tag, for the lang attribute
    language_label: str
    received_on: str  # ISO date, for <time datetime>
    received_label: str
    level: Level
    level_label: str
    organization: str
    state: str | None  # the Member State's name
    group: RegionalGroup | None
    group_label: str | None
    commission: Commission | None
    commission_label: str | None
    objectives: tuple[tuple[int, str], ...]
    document: DocumentView


class Reference:
    """The reference data the views need, loaded once per build."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.objectives = {n: o.title for n, o in reference.objectives(config_dir).items()}
        self.states = reference.states(config_dir)
        self.commissions = reference.commissions(config_dir)

    def fingerprint(self) -> str:
        parts = [repr(sorted(self.objectives.items())),
                 repr(sorted((k, s.name, s.regional_group) for k, s in self.states.items())),
                 repr(sorted((c.value, i.name, i.region) for c, i in self.commissions.items()))]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def submission_digest(submission: Submission, source: Path | None) -> str:
    """Changes whenever anything the site shows of the input may change."""
    # The repr of the field values: it cannot fail, even on a lone surrogate (shown escaped),
    # and is several times faster than the models' own repr or JSON.
    fields = [value for name, value in submission.__dict__.items() if name != "document"]
    text = repr((fields, tuple(submission.document.__dict__.values()), str(source)))
    return hashlib.sha1(text.encode("utf-8", "backslashreplace"),
                        usedforsecurity=False).hexdigest()


def regional_group(submission: Submission, ref: Reference) -> RegionalGroup | None:
    state = ref.states.get(submission.state) if submission.state else None
    return state.regional_group if state else None


def input_view(submission: Submission, ref: Reference, source: Path | None,
               digest: str) -> InputView:
    """``source``: the stored document's file (None: not available, or a link)."""
    state = ref.states.get(submission.state) if submission.state else None
    group = state.regional_group if state else None
    commission = submission.commission
    info = ref.commissions.get(commission) if commission else None
    language = submission.language if _LANG.match(submission.language) else None
    return InputView(
        id=submission.id, digest=digest, title=clean(submission.title),
        language=language, language_label=clean(submission.language),
        received_on=submission.received_on.isoformat(),
        received_label=human_date(submission.received_on),
        level=submission.level, level_label=LEVEL_LABELS[submission.level],
        organization=clean(submission.organization),
        state=state.name if state else (submission.state or None),
        group=group, group_label=GROUP_LABELS[group] if group else None,
        commission=commission,
        commission_label=f"{info.name} ({info.region})" if info else None,
        objectives=tuple((n, ref.objectives.get(n, "")) for n in sorted(set(
            submission.objectives))),
        document=_document_view(submission, source),
    )


def _document_view(submission: Submission, source: Path | None) -> DocumentView:
    doc = submission.document
    if doc.sha256 is None:
        link = http_link(doc.link)
        if link is None:
            return DocumentView(href=None, stored=False, label="no valid link was given")
        return DocumentView(href=link, stored=False, label=clean(link))
    name = safe_filename(doc.filename, doc.media_type)
    kind = _MEDIA_LABELS.get(doc.media_type or "", "file")
    label = f"{name} ({kind}, {size_label(doc.size or 0)})"
    if source is None:
        return DocumentView(href=None, stored=True, label=f"{label}: not available online")
    return DocumentView(href=document_href(submission), stored=True, label=label,
                        source=source)


def document_href(submission: Submission) -> str:
    """Where a stored document is published, relative to the edition's folder."""
    doc = submission.document
    # One folder for all: no directory to create per input.
    return f"documents/{submission.id}-{safe_filename(doc.filename, doc.media_type)}"
