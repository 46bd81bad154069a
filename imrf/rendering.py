"""Milestone messages rendered once per batch, with recipient data as placeholder tokens.

A notice or reminder is rendered from Jinja2 templates once per (edition, milestone, kind,
days_before); each recipient then only carries the values of the batch's tokens (see
:mod:`imrf.delivery.message`). Recipient data therefore never goes through Jinja: a name such
as ``{{ 7*7 }}`` is never evaluated, and the renderer escapes each value for where its token
sits (HTML-escaped in the HTML body, one line of plain text in the text body).

Templates live in ``imrf/templates/email``: ``<milestone-id>/<kind>.<part>.j2`` overrides
``_default/<milestone-kind>/<kind>.<part>.j2`` for one milestone, which overrides
``_default/<kind>.<part>.j2`` (one for every kind of milestone, as for escalations); ``part``
is ``subject``, ``txt`` or ``html``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field, field_validator

from imrf import reference
from imrf.delivery.base import substitute
from imrf.delivery.message import Attachment, MessageBatch, Personalization
from imrf.ics import is_timed, milestone_to_ics
from imrf.milestones import EditionCalendar, Milestone
from imrf.vocabulary import MessageKind, MilestoneKind

# Letters and hyphens only: autoescaping leaves them as they are, and no rendered input may
# contain PLACEHOLDER_PREFIX (checked), so a token in the output was put there by a template.
PLACEHOLDER_PREFIX = "-imrf-"
NAME_TEXT = "-imrf-name-text-"
NAME_HTML = "-imrf-name-html-"
RECIPIENT_TEXT = "-imrf-recipient-text-"
RECIPIENT_HTML = "-imrf-recipient-html-"
GREETING_FALLBACK = "colleague"
ICS_CONTENT_TYPE = "text/calendar; method=PUBLISH"

# C0/C1 controls, line and paragraph separators, and the bidi embeddings/overrides/isolates
# that could make the rest of a line read backwards.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# A character one_line would change: unsafe, or white space other than " " (what
# str.isspace() accepts beyond " " and the controls).
_NOT_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_HTML_SPECIAL = re.compile("[&<>'\"]")
# Inputs may keep line breaks and tabs, not the other controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What str.isspace() calls white space (the same set, checked over every code point), found
# by one C-level scan instead of a Python loop per character.
_SPACE = re.compile(r"\s")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_URL = re.compile(r"^https?://[^\s\"'<>\\\x00-\x1f\x7f]+$")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_BASIS = {
    "text": "date set by the text",
    "operational-default": "operational default: the text does not set this date",
}


class RecipientData(BaseModel):
    """The recipient's own data that goes into a message (contacts are validated on import)."""

    model_config = ConfigDict(frozen=True)

    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=300)
    organization: str = Field(default="", max_length=300)

    @field_validator("email")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if "@" not in value or _UNSAFE.search(value) or _SPACE.search(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value


# Distinct contacts whose validated data and personalization are kept: a cycle's fan-outs
# go to the same thousands of contacts again and again (73 times in a simulation).
_KEPT = 1 << 16


@lru_cache(maxsize=_KEPT)
def recipient_data(email: str, name: str = "", organization: str = "") -> RecipientData:
    """:class:`RecipientData`, validated once per distinct contact (raises like the model)."""
    return RecipientData(email=email, name=name, organization=organization)


def one_line(value: str) -> str:
    """Plain text for a single line: control characters and separators become spaces."""
    if (_NOT_ONE_LINE.search(value) is None and "  " not in value
            and value[:1] != " " and value[-1:] != " "):
        return value  # most values: one scan instead of a substitution, a split and a join
    return " ".join(_UNSAFE.sub(" ", value).split())


def _html(value: str) -> str:
    """``value`` HTML-escaped (as markupsafe does), without a Markup object when unchanged."""
    return value if _HTML_SPECIAL.search(value) is None else str(escape(value))


def substitutions_for(recipient: RecipientData, *, name: str | None = None) -> dict[str, str]:
    """The values of the batch's tokens for one recipient, each escaped for its place.

    ``name`` is ``one_line(recipient.name)`` when the caller has it already.
    """
    name = (one_line(recipient.name) if name is None else name) or GREETING_FALLBACK
    to = one_line(recipient.email)
    organization = one_line(recipient.organization)
    if organization:
        to = f"{to} ({organization})"
    return {
        NAME_TEXT: name,
        NAME_HTML: _html(name),
        RECIPIENT_TEXT: to,
        RECIPIENT_HTML: _html(to),
    }


def apply_substitutions(text: str, substitutions: Mapping[str, str]) -> str:
    """Replace the tokens in ``text`` in one pass, as SendGrid does.

    A value that contains a token (a recipient named ``-imrf-name-html-``) stays as it is.
    """
    return substitute(text, substitutions)


def render_batch(
    *,
    calendar: EditionCalendar,
    milestone_id: str,
    kind: MessageKind,
    recipients: Sequence[RecipientData],
    days_before: int | None = None,
    ui_link: str | None = None,
    extra: Mapping[str, str] | None = None,
    revision: int = 0,
) -> MessageBatch:
    """A milestone's notice or reminder for ``recipients``, rendered once.

    ``days_before`` is required for a reminder (0 = the day itself) and refused otherwise.
    An escalation (to the operators: the milestone's human step is overdue) should carry the
    step's ``ui_link`` and, in ``extra``, the step and its deadline.
    ``ui_link`` (an http(s) URL, e.g. the Prefect flow run of an operator's step) and
    ``extra`` (label -> value lines of context) are added to the body. A meeting's notice
    carries its event as an ``.ics`` attachment at calendar ``revision`` (see
    :mod:`imrf.ics`). An address given twice (in any case) gets one message.
    """
    milestone = calendar.get(milestone_id)
    kind = MessageKind(kind)
    if kind is MessageKind.REMINDER and (days_before is None or days_before < 0):
        raise ValueError(f"a reminder for {milestone_id!r} needs days_before >= 0, "
                         f"got {days_before}")
    if kind is not MessageKind.REMINDER and days_before is not None:
        raise ValueError(f"{article(kind)} {kind} for {milestone_id!r} takes no days_before")
    if ui_link is not None and not _URL.match(ui_link):
        raise ValueError(f"ui_link must be an absolute http(s) URL, got {ui_link!r}")
    context = _context(calendar, milestone, kind, days_before, ui_link, extra or {})

    text_env, html_env = _environments()
    subject = one_line(_template(text_env, milestone, kind, "subject").render(context))
    text = _template(text_env, milestone, kind, "txt").render(
        context, subject=subject, name=NAME_TEXT, recipient=RECIPIENT_TEXT)
    html = _template(html_env, milestone, kind, "html").render(
        context, subject=subject, name=NAME_HTML, recipient=RECIPIENT_HTML)

    custom_args = {"edition": str(calendar.edition), "milestone": milestone.id,
                   "kind": kind.value}
    if days_before is not None:
        custom_args["days_before"] = str(days_before)
    attachments: tuple[Attachment, ...] = ()
    if kind is MessageKind.NOTICE and milestone.kind is MilestoneKind.MEETING:
        content = milestone_to_ics(calendar.edition, milestone,
                                   modalities=calendar.modalities, revision=revision)
        attachments = (Attachment(filename=f"{milestone.id}.ics",
                                  content_type=ICS_CONTENT_TYPE, content=content),)
    return MessageBatch(
        edition=calendar.edition, milestone=milestone.id, kind=kind, subject=subject,
        text=text, html=html, attachments=attachments,
        categories=("imrf", f"imrf-{calendar.edition}", milestone.id, kind.value),
        custom_args=custom_args, recipients=_personalizations(recipients),
    )


def _personalizations(recipients: Sequence[RecipientData]) -> tuple[Personalization, ...]:
    seen: set[str] = set()
    result = []
    for recipient in recipients:
        key = recipient.email.lower()
        if key in seen:
            continue
        seen.add(key)
        result.append(_personalization(recipient))
    return tuple(result)


@lru_cache(maxsize=_KEPT)
def _personalization(recipient: RecipientData) -> Personalization:
    """A recipient's tokens, worked out once per distinct recipient: the model is frozen and
    nobody changes its dictionaries, so batches share it."""
    name = one_line(recipient.name)
    return Personalization(email=recipient.email, name=name,
                           substitutions=substitutions_for(recipient, name=name))


def _context(
    calendar: EditionCalendar, milestone: Milestone, kind: MessageKind,
    days_before: int | None, ui_link: str | None, extra: Mapping[str, str],
) -> dict[str, Any]:
    """What the templates see: plain values, already formatted, checked for stray tokens."""
    context: dict[str, Any] = {
        "edition": calendar.edition,
        "forum": f"International Migration Review Forum {calendar.edition}",
        "title": milestone.title,
        "paragraph": milestone.paragraph,
        "rule": milestone.rule,
        "basis": _BASIS.get(milestone.basis, milestone.basis),
        "action": milestone.action,
        "milestone_id": milestone.id,
        "milestone_kind": milestone.kind.value,
        "kind": kind.value,
        "first_day": human_date(milestone.first_day),
        "last_day": human_date(milestone.last_day),
        "dates": human_dates(milestone),
        "when": human_when(milestone),
        "days_before": days_before,
        "relative": relative_days(days_before) if days_before is not None else None,
        "objectives": _objectives(milestone),
        "ui_link": ui_link,
        "extra": [(label, value) for label, value in extra.items()],
        "calendar_attached": kind is MessageKind.NOTICE
        and milestone.kind is MilestoneKind.MEETING,
    }
    for field, value in context.items():
        for text in _strings(value):
            if PLACEHOLDER_PREFIX in text:
                raise ValueError(f"{field} of {milestone.id!r} contains the reserved "
                                 f"{PLACEHOLDER_PREFIX!r}: {text!r}")
    for field in ("title", "paragraph", "rule", "action"):
        context[field] = _CONTROL.sub(" ", context[field])
    context["extra"] = [(one_line(k), one_line(v)) for k, v in context["extra"]]
    return context


def _objectives(milestone: Milestone) -> list[tuple[int, str]]:
    """A round table's objectives with their short titles (config/reference/objectives.yaml)."""
    if not milestone.objectives:
        return []
    titles = reference.objectives()
    return [(n, titles[n].title if n in titles else "") for n in milestone.objectives]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


@lru_cache(maxsize=1)
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    """The text environment (no escaping) and the HTML one (autoescape), both strict."""
    loader = jinja2.PackageLoader("imrf", "templates")
    common: dict[str, Any] = {"loader": loader, "undefined": jinja2.StrictUndefined,
                              "trim_blocks": True, "lstrip_blocks": True,
                              "keep_trailing_newline": True}
    return jinja2.Environment(autoescape=False, **common), jinja2.Environment(  # noqa: S701
        autoescape=True, **common)


def _template(env: jinja2.Environment, milestone: Milestone, kind: MessageKind,
              part: str) -> jinja2.Template:
    names = [f"email/_default/{milestone.kind.value}/{kind.value}.{part}.j2",
             f"email/_default/{kind.value}.{part}.j2"]
    # Only a slug can name a directory: anything else cannot escape the template folder.
    if _SLUG.match(milestone.id):
        names.insert(0, f"email/{milestone.id}/{kind.value}.{part}.j2")
    return env.select_template(names)


def human_date(day: dt.date) -> str:
    """``Tuesday 17 May 2022`` (English names whatever the process's locale)."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def human_dates(milestone: Milestone) -> str:
    """The milestone's day, or first and last days, without hours."""
    first, last = human_date(milestone.first_day), human_date(milestone.last_day)
    return first if first == last else f"{first} to {last}"


def human_when(milestone: Milestone) -> str:
    """The milestone's date(s), with New York hours for a meeting that has them."""
    first, last = human_date(milestone.first_day), human_date(milestone.last_day)
    if is_timed(milestone):
        assert milestone.start_time is not None and milestone.end_time is not None
        start, end = f"{milestone.start_time:%H:%M}", f"{milestone.end_time:%H:%M}"
        if first == last:
            return f"{first}, {start}–{end} New York time"
        return f"{first} at {start} to {last} at {end} New York time"
    return human_dates(milestone)


def article(kind: MessageKind) -> str:
    return "an" if kind.value[0] in "aeiou" else "a"


def relative_days(days: int) -> str:
    """``today``, ``tomorrow`` or ``in N days``."""
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


