"""Milestone messages: rendered once per batch, recipient data only as escaped token values."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any, ClassVar

import jinja2
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from markupsafe import escape
from pydantic import ValidationError

from imrf import rendering
from imrf.delivery.message import MessageBatch
from imrf.milestones import EditionCalendar, Milestone
from imrf.rendering import (
    NAME_HTML,
    NAME_TEXT,
    RECIPIENT_HTML,
    RECIPIENT_TEXT,
    RecipientData,
    apply_substitutions,
    human_date,
    one_line,
    recipient_data,
    render_batch,
)
from imrf.vocabulary import Audience, MessageKind, MilestoneKind

NOTICE, REMINDER = MessageKind.NOTICE, MessageKind.REMINDER


def make(id: str, kind: MilestoneKind, **fields: Any) -> Milestone:
    values: dict[str, Any] = {
        "id": id, "title": id, "paragraph": "OP1", "kind": kind, "basis": "text",
        "rule": "a rule", "action": "Do something.", "audiences": (Audience.MEMBER_STATES,),
    }
    values.update(fields)
    return Milestone(**values)


SG_REPORT = make(
    "sg-report", MilestoneKind.DEADLINE, title="Secretary-General's report", paragraph="OP15",
    rule="at least six weeks before the forum (OP15)", due=dt.date(2026, 3, 24),
    action="Issue the Secretary-General's report with its analysis (OP15).",
)
ROUNDTABLE = make(
    "roundtable-1", MilestoneKind.MEETING, title="Round table 1 (Cluster I)",
    paragraph="OP26, OP27, OP28", rule="first day of the forum, morning (OP26)",
    start=dt.date(2026, 5, 5), end=dt.date(2026, 5, 5), start_time=dt.time(10),
    end_time=dt.time(13), objectives=(2, 5, 6, 12, 18), cluster="I",
    action="Take part in the interactive multi-stakeholder round table (OP30-OP31).",
)
HEARING = make(
    "hearing", MilestoneKind.MEETING, title="Informal multi-stakeholder hearing",
    paragraph="OP17", basis="operational-default", start=dt.date(2026, 5, 4),
    end=dt.date(2026, 5, 4), rule="one day, prior to the forum (OP17)",
)
DEBATE = make(
    "general-debate", MilestoneKind.MEETING, title="Plenary: general debate",
    paragraph="OP23, OP24", start=dt.date(2026, 5, 5), end=dt.date(2026, 5, 7),
    start_time=dt.time(10), end_time=dt.time(18),
)
NEGOTIATIONS = make(
    "negotiations", MilestoneKind.WINDOW, title="Intergovernmental negotiations",
    paragraph="OP36, OP37", start=dt.date(2026, 5, 8), end=dt.date(2026, 7, 7),
)
CALENDAR = EditionCalendar(
    edition=2026, modalities="zero-draft-2019", forum_start=dt.date(2026, 5, 5),
    forum_end=dt.date(2026, 5, 7),
    milestones=(SG_REPORT, HEARING, ROUNDTABLE, DEBATE, NEGOTIATIONS),
)
ALICE = RecipientData(email="alice@example.org", name="Alice Martin", organization="Ministry")


def render(milestone_id: str, kind: MessageKind, *recipients: RecipientData,
           days_before: int | None = None, **options: Any) -> MessageBatch:
    return render_batch(
        calendar=options.pop("calendar", CALENDAR), milestone_id=milestone_id, kind=kind,
        recipients=recipients or (ALICE,), days_before=days_before, **options,
    )


def personal(batch: MessageBatch, index: int = 0) -> tuple[str, str]:
    """The text and HTML bodies as the index-th recipient receives them."""
    values = batch.recipients[index].substitutions
    return apply_substitutions(batch.text, values), apply_substitutions(batch.html, values)


CASES = [
    ("sg-report", NOTICE, None,
     "[IMRF 2026] Secretary-General's report: due Tuesday 24 March 2026 (OP15)",
     "falls on Tuesday 24 March 2026"),
    ("sg-report", REMINDER, 7,
     "[IMRF 2026] Reminder: Secretary-General's report, due in 7 days (OP15)",
     "falls in 7 days, on Tuesday 24 March 2026"),
    ("roundtable-1", NOTICE, None,
     "[IMRF 2026] Round table 1 (Cluster I): Tuesday 5 May 2026 (OP26, OP27, OP28)",
     "Tuesday 5 May 2026, 10:00–13:00 New York time"),
    ("general-debate", REMINDER, 1,
     "[IMRF 2026] Reminder: Plenary: general debate, starting tomorrow (OP23, OP24)",
     "starts tomorrow: Plenary: general debate, Tuesday 5 May 2026 at 10:00 to "
     "Thursday 7 May 2026 at 18:00 New York time"),
    ("hearing", REMINDER, 0,
     "[IMRF 2026] Reminder: Informal multi-stakeholder hearing, starting today (OP17)",
     "starts today: Informal multi-stakeholder hearing, Monday 4 May 2026."),
    ("negotiations", NOTICE, None,
     "[IMRF 2026] Intergovernmental negotiations: Friday 8 May 2026 to Tuesday 7 July 2026 "
     "(OP36, OP37)", "runs from Friday 8 May 2026 to Tuesday 7 July 2026"),
    ("negotiations", REMINDER, 14,
     "[IMRF 2026] Reminder: Intergovernmental negotiations, opening in 14 days (OP36, OP37)",
     "opens in 14 days, on Friday 8 May 2026, and runs until Tuesday 7 July 2026"),
]


@pytest.mark.parametrize(("milestone_id", "kind", "days_before", "subject", "lead"), CASES)
def test_each_milestone_kind_and_message_kind(
    milestone_id: str, kind: MessageKind, days_before: int | None, subject: str, lead: str
) -> None:
    batch = render(milestone_id, kind, days_before=days_before)
    milestone = CALENDAR.get(milestone_id)
    assert batch.subject == subject
    text, html = personal(batch)
    for body in (text, html):
        assert lead in body.replace("<strong>", "").replace("</strong>", "")
        assert "International Migration Review Forum 2026" in body
        assert str(escape(milestone.action)) in body or milestone.action in body
        assert milestone.paragraph in body
        assert "-imrf-" not in body
    assert "Dear Alice Martin,\n" in text
    assert "<p>Dear <bdi>Alice Martin</bdi>,</p>" in html
    assert "This message was sent to alice@example.org (Ministry)." in text
    heading = f"Reminder: {milestone.title}" if kind is REMINDER else milestone.title
    assert f">{escape(heading)}</h1>" in html
    assert f"\n{heading}\n" in text


@pytest.mark.parametrize("kind", list(MessageKind))
@pytest.mark.parametrize("milestone_id", ["sg-report", "roundtable-1", "hearing", "negotiations"])
def test_every_message_kind_renders_for_every_milestone_kind(
    milestone_id: str, kind: MessageKind
) -> None:
    days = 3 if kind is REMINDER else None
    batch = render(milestone_id, kind, days_before=days)
    assert batch.subject.startswith("[IMRF 2026] ") and batch.kind is kind
    text, html = personal(batch)
    assert "Dear Alice Martin," in text and "<bdi>Alice Martin</bdi>" in html
    assert_balanced(html)


def test_escalation_tells_the_operators_what_is_overdue() -> None:
    link = "https://prefect.example.org/runs/flow-run/7"
    batch = render("sg-report", MessageKind.ESCALATION, ui_link=link,
                   extra={"Step": "Confirm the report was issued", "Deadline": "31 March 2026"})
    assert batch.subject == (
        "[IMRF 2026] Overdue: the step for Secretary-General's report is still open (OP15)")
    assert batch.custom_args["kind"] == "escalation" and batch.attachments == ()
    text, _ = personal(batch)
    assert "still open after its deadline" in text and link in text
    assert "Step: Confirm the report was issued\nDeadline: 31 March 2026\n" in text


def test_html_is_a_plain_accessible_self_contained_page() -> None:
    html = render("roundtable-1", NOTICE).html
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\"")
    assert "<title>[IMRF 2026] Round table 1 (Cluster I)" in html
    assert "<h1" in html and "<table" not in html
    for external in ("<img", "<link", "<script", "src=", "url(", "@import"):
        assert external not in html
    assert_balanced(html)


class _Tags(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "hr", "br", "img", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"


def assert_balanced(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert parser.stack == []


def test_deadline_says_what_to_do_and_by_when() -> None:
    text, html = personal(render("sg-report", NOTICE))
    assert ("What to do by Tuesday 24 March 2026:\n"
            "Issue the Secretary-General's report with its analysis (OP15).") in text
    assert "Rule: at least six weeks before the forum (OP15)" in text
    assert "Paragraph: OP15 (date set by the text)" in text
    assert "What to do by Tuesday 24 March 2026</h2>" in html


def test_round_tables_list_their_objectives() -> None:
    text, html = personal(render("roundtable-1", NOTICE))
    assert ("Objectives of the Global Compact:\n  2. Minimize adverse drivers\n"
            "  5. Regular pathways\n  6. Fair recruitment and decent work\n"
            "  12. Screening and referral\n  18. Skills development and recognition\n") in text
    assert "<li>2. Minimize adverse drivers</li>\n<li>5. Regular pathways</li>" in html
    assert "<li>18. Skills development and recognition</li>\n</ul>" in html
    assert "Objectives" not in personal(render("hearing", NOTICE))[0]


def test_hearing_shows_its_operational_default() -> None:
    text, _ = personal(render("hearing", NOTICE))
    assert "Paragraph: OP17 (operational default: the text does not set this date)" in text


def test_batch_metadata() -> None:
    notice = render("sg-report", NOTICE)
    assert (notice.edition, notice.milestone, notice.kind) == (2026, "sg-report", NOTICE)
    assert notice.custom_args == {"edition": "2026", "milestone": "sg-report", "kind": "notice"}
    assert notice.categories == ("imrf", "imrf-2026", "sg-report", "notice")
    reminder = render("sg-report", REMINDER, days_before=7)
    assert reminder.custom_args["days_before"] == "7"
    assert reminder.categories[-1] == "reminder" and len(reminder.categories) <= 10


def test_only_meeting_notices_carry_the_event() -> None:
    batch = render("roundtable-1", NOTICE)
    [attachment] = batch.attachments
    assert attachment.filename == "roundtable-1.ics"
    assert attachment.content_type == "text/calendar; method=PUBLISH"
    event: Any = Calendar.from_ical(attachment.content).walk("VEVENT")[0]
    assert str(event["UID"]) == "imrf-2026-roundtable-1@imrf-orchestrator"
    assert event["DTSTART"].dt == dt.datetime(2026, 5, 5, 14, tzinfo=dt.UTC)
    assert "roundtable-1.ics" in batch.text
    assert render("hearing", NOTICE).attachments[0].filename == "hearing.ics"
    for milestone_id, kind, days in [("roundtable-1", REMINDER, 1), ("sg-report", NOTICE, None),
                                     ("negotiations", NOTICE, None)]:
        other = render(milestone_id, kind, days_before=days)
        assert other.attachments == () and ".ics" not in other.text


def test_the_attachment_follows_the_calendar_revision() -> None:
    first = render("roundtable-1", NOTICE).attachments[0].content
    later = render("roundtable-1", NOTICE, revision=2).attachments[0].content
    events: list[Any] = [Calendar.from_ical(c).walk("VEVENT")[0] for c in (first, later)]
    sequence = [int(event["SEQUENCE"]) for event in events]
    assert sequence[1] > sequence[0]


def test_subject_is_common_to_the_batch() -> None:
    bob = RecipientData(email="bob@example.org", name="Bob\r\nBcc: x@y")
    batch = render("sg-report", REMINDER, ALICE, bob, days_before=7)
    assert "-imrf-" not in batch.subject and "\n" not in batch.subject
    assert "Alice" not in batch.subject
    assert [r.email for r in batch.recipients] == ["alice@example.org", "bob@example.org"]


def test_ui_link_and_extra_context() -> None:
    link = "https://prefect.example.org/runs/flow-run/42?tab=Details&x=1"
    batch = render("co-chairs", NOTICE, ui_link=link,
                   extra={"Flow run": "stage 3 <co-chairs>", "Note": "two\r\nlines & more"},
                   calendar=CALENDAR.model_copy(update={"milestones": (
                       make("co-chairs", MilestoneKind.DEADLINE, due=dt.date(2026, 2, 5)),)}))
    text, html = personal(batch)
    assert f"\n{link}\n" in text
    assert 'href="https://prefect.example.org/runs/flow-run/42?tab=Details&amp;x=1"' in html
    assert "Flow run: stage 3 <co-chairs>\nNote: two lines & more\n" in text
    assert "<dd style=\"margin:0 0 0.5em;\">stage 3 &lt;co-chairs&gt;</dd>" in html
    assert "two lines &amp; more" in html
    assert "orchestrator" not in personal(render("sg-report", NOTICE))[0]


@pytest.mark.parametrize("link", ["javascript:alert(1)", "/relative", "https://x.org/a b",
                                  'https://x.org/"onmouseover', "ftp://x.org/"])
def test_ui_link_must_be_http(link: str) -> None:
    with pytest.raises(ValueError, match="ui_link must be an absolute http"):
        render("sg-report", NOTICE, ui_link=link)


def test_reminders_need_days_before_and_notices_refuse_it() -> None:
    with pytest.raises(ValueError, match="reminder for 'sg-report' needs days_before >= 0"):
        render("sg-report", REMINDER)
    with pytest.raises(ValueError, match="needs days_before >= 0, got -1"):
        render("sg-report", REMINDER, days_before=-1)
    with pytest.raises(ValueError, match="a notice for 'sg-report' takes no days_before"):
        render("sg-report", NOTICE, days_before=3)
    with pytest.raises(ValueError, match="an escalation for 'sg-report' takes no days_before"):
        render("sg-report", MessageKind.ESCALATION, days_before=3)
    with pytest.raises(KeyError, match="unknown milestone 'nope'"):
        render("nope", NOTICE)


@pytest.mark.parametrize("field", ["title", "rule", "action", "paragraph"])
def test_milestone_text_cannot_smuggle_a_token(field: str) -> None:
    hostile = SG_REPORT.model_copy(update={field: f"see {NAME_HTML}"})
    calendar = CALENDAR.model_copy(update={"milestones": (hostile,)})
    with pytest.raises(ValueError, match=f"{field} of 'sg-report' contains the reserved"):
        render("sg-report", NOTICE, calendar=calendar)
    with pytest.raises(ValueError, match="extra of 'sg-report' contains the reserved"):
        render("sg-report", NOTICE, extra={"x": RECIPIENT_TEXT})


def test_a_milestone_id_can_have_its_own_template(monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = jinja2.DictLoader({
        "email/sg-report/notice.subject.j2": "[IMRF {{ edition }}] Special: {{ title }}",
        "email/sg-report/notice.txt.j2": "Hello {{ name }}: {{ title }}\n",
        "email/sg-report/notice.html.j2": "<p>Hello {{ name }}: {{ title }}</p>\n",
        "email/a/notice.subject.j2": "not used: the id is no slug",
    })
    loader = jinja2.ChoiceLoader([overrides, jinja2.PackageLoader("imrf", "templates")])
    common: dict[str, Any] = {"loader": loader, "undefined": jinja2.StrictUndefined,
                              "keep_trailing_newline": True}
    envs = (jinja2.Environment(**common), jinja2.Environment(autoescape=True, **common))
    monkeypatch.setattr(rendering, "_environments", lambda: envs)
    batch = render("sg-report", NOTICE)
    assert batch.subject == "[IMRF 2026] Special: Secretary-General's report"
    assert personal(batch) == ("Hello Alice Martin: Secretary-General's report\n",
                               "<p>Hello Alice Martin: Secretary-General&#39;s report</p>\n")
    # The other kind falls back to the default template.
    assert render("sg-report", REMINDER, days_before=1).subject.endswith("due tomorrow (OP15)")
    odd = make("a/../a", MilestoneKind.DEADLINE, due=dt.date(2026, 1, 5))
    batch = render("a/../a", NOTICE, calendar=CALENDAR.model_copy(update={"milestones": (odd,)}))
    assert batch.subject == "[IMRF 2026] a/../a: due Monday 5 January 2026 (OP1)"


def test_same_address_twice_gets_one_message() -> None:
    again = RecipientData(email="ALICE@example.org", name="Alice again")
    batch = render("sg-report", NOTICE, ALICE, again)
    assert [r.name for r in batch.recipients] == ["Alice Martin"]


def test_nameless_recipient_is_greeted_as_colleague() -> None:
    batch = render("sg-report", NOTICE, RecipientData(email="x@example.org", name=" \r\n"))
    text, html = personal(batch)
    assert "Dear colleague,\n" in text and "<bdi>colleague</bdi>" in html
    assert "sent to x@example.org." in text  # no empty "()" for a missing organization


@pytest.mark.parametrize("email", ["no-at-sign", "a@b.org\r\nBcc: c@d.org", "a b@c.org", ""])
def test_recipient_address_must_be_one_address(email: str) -> None:
    with pytest.raises(ValidationError, match="email"):
        RecipientData(email=email, name="x")


def test_substitution_is_a_single_pass() -> None:
    values = {NAME_HTML: NAME_TEXT, NAME_TEXT: "plain"}
    assert apply_substitutions(f"{NAME_HTML}|{NAME_TEXT}", values) == f"{NAME_TEXT}|plain"
    batch = render("sg-report", NOTICE, RecipientData(email="t@example.org", name=NAME_HTML))
    text, html = personal(batch)
    assert f"Dear {NAME_HTML}," in text and f"<bdi>{NAME_HTML}</bdi>" in html


def test_human_dates() -> None:
    assert human_date(dt.date(2022, 5, 17)) == "Tuesday 17 May 2022"
    assert human_date(dt.date(2026, 1, 1)) == "Thursday 1 January 2026"


# Names a contact file could hold: markup, template syntax, header injection, NUL, bidi
# overrides, astral characters, and the tokens themselves.
names = st.lists(
    st.one_of(
        st.sampled_from(["<", ">", "&", '"', "'", "{{", "}}", "{%", "%}", "{#", "\r", "\n",
                         "\x00", "\u2028", "\u202e", "\x85", NAME_TEXT, RECIPIENT_HTML,
                         "<script>", "{{ 7*7 }}"]),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
).map("".join)

BATCH = render("roundtable-1", NOTICE)


def changed_lines(before: str, after: str) -> list[int]:
    old, new = before.split("\n"), after.split("\n")
    assert len(old) == len(new), "a recipient value added or removed a line"
    return [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


@settings(max_examples=300, deadline=None)
@given(name=names, organization=names)
@example(name="<script>alert(1)</script>", organization="")
@example(name="Bob\r\nBcc: x@y", organization="A\nB")
@example(name="{{ 7*7 }}{% for x in range(3) %}x{% endfor %}", organization="{{ config }}")
@example(name="\u202eevil", organization="\x00")
def test_hostile_names_arrive_as_text(name: str, organization: str) -> None:
    recipient = RecipientData(email="h@example.org", name=name, organization=organization)
    values = rendering.substitutions_for(recipient)
    text = apply_substitutions(BATCH.text, values)
    html = apply_substitutions(BATCH.html, values)
    shown = one_line(name) or "colleague"
    org = one_line(organization)
    to = f"h@example.org ({org})" if org else "h@example.org"

    # Only the greeting and the footer changed, each still one line.
    greeting = BATCH.text.split("\n").index(f"Dear {NAME_TEXT},")
    footer = BATCH.text.split("\n").index(f"This message was sent to {RECIPIENT_TEXT}.")
    assert set(changed_lines(BATCH.text, text)) <= {greeting, footer}
    lines = text.split("\n")
    assert lines[greeting] == f"Dear {shown},"
    assert lines[footer] == f"This message was sent to {to}."
    for unwanted in ("\r", "\x00", "\u2028", "\u202e", "\x85"):
        assert unwanted not in lines[greeting] + lines[footer]

    assert f"<p>Dear <bdi>{escape(shown)}</bdi>,</p>" in html
    assert f"This message was sent to {escape(to)}." in html
    assert len(changed_lines(BATCH.html, html)) <= 2
    assert "<script" not in html.lower()
    assert "\r" not in html and "\x00" not in html
    assert_balanced(html)
    if "{{ 7*7 }}" in name:
        assert "{{ 7*7 }}" in lines[greeting] and "49" not in lines[greeting]


def test_names_never_go_through_jinja(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = jinja2.Template.render

    def spy(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
        seen.append(repr((args, kwargs)))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", spy)
    sentinel = "Zq{{ 7*7 }}Sentinel"
    batch = render("roundtable-1", NOTICE,
                   RecipientData(email="s@example.org", name=sentinel, organization="OrgSentinel"))
    assert len(seen) == 3  # subject, text, HTML: once per batch, not per recipient
    assert not any("Sentinel" in call for call in seen)
    text, _ = personal(batch)
    assert f"Dear {sentinel}," in text


def test_ten_thousand_recipients_in_one_batch() -> None:
    # Speed is for make bench (shared, noisy machines): here only the result is checked.
    recipients = [
        RecipientData(email=f"person{i}@example.org", name=f"Person <{i}> & Co",
                      organization=f"Ministry {i % 193}")
        for i in range(10_000)
    ]
    render("roundtable-1", NOTICE)  # templates compiled and tzdata loaded once
    batch = render("roundtable-1", NOTICE, *recipients)
    assert len(batch.recipients) == 10_000
    assert batch.recipients[9_999].substitutions[NAME_HTML] == "Person &lt;9999&gt; &amp; Co"


def _one_line_by_definition(value: str) -> str:
    return " ".join(rendering._UNSAFE.sub(" ", value).split())


_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
_TRICKY = st.sampled_from([*_SPACES, "\u2028", "\u202e", "\u2066", "\x00", "\x7f", "\x9f", "a",
                           "é", "&", "<", "'", '"'])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=4), _TRICKY), max_size=10).map("".join))
@example(" a")
@example("a ")
@example("a  b")
@example("a\u3000b")
@example("")
def test_the_shortcuts_change_nothing(value: str) -> None:
    # one_line and the HTML escaping skip their work for values that need none.
    assert one_line(value) == _one_line_by_definition(value)
    assert rendering._html(value) == str(escape(value))


def test_every_kind_of_white_space_is_made_one_space() -> None:
    for space in _SPACES:
        assert one_line(f"a{space}b") == "a b", repr(space)
        assert one_line(f"{space}a{space}") == "a", repr(space)


def test_recipients_are_validated_and_personalized_once_per_distinct_contact() -> None:
    # A cycle fans out to the same contacts dozens of times: the work is done once each.
    alice = recipient_data("alice@example.org", "Alice Martin", "Ministry")
    assert recipient_data("alice@example.org", "Alice Martin", "Ministry") is alice
    first = render("sg-report", MessageKind.NOTICE, alice)
    again = render("sg-report", MessageKind.REMINDER, alice, days_before=7)
    assert again.recipients[0] is first.recipients[0]
    # A contact whose name changed is a different recipient, with its own tokens.
    renamed = recipient_data("alice@example.org", "Alice Dupont", "Ministry")
    batch = render("sg-report", MessageKind.NOTICE, renamed)
    assert batch.recipients[0].substitutions[NAME_TEXT] == "Alice Dupont"
    assert first.recipients[0].substitutions[NAME_TEXT] == "Alice Martin"
    # A bad address is refused every time, not remembered as valid.
    for _ in range(2):
        with pytest.raises(ValidationError, match="not an e-mail address"):
            recipient_data("alice\nBcc: eve@example.org")
