"""The public inputs website (OP14) in headless Chromium: filters, an input found by its
objective, a hostile title shown as text, a phone-width and a desktop-width screenshot.

The site is built into a temporary folder and served on 127.0.0.1 on a free port; only the
last test needs `imrf run` (the session's, shared with test_ui.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imrf.calendar import build_calendar
from imrf.inputs.models import Document, Level, Status, Submission
from imrf.site import build_site
from imrf.site.sample import sample_submissions
from imrf.site.serve import SiteServer

pytestmark = pytest.mark.e2e

EDITION = 2030
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> Hostile review"
FINDABLE = "Return and reintegration of migrant workers in Kenya"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}


def _input(id: str, title: str, objectives: tuple[int, ...], **changes: Any) -> Submission:
    data: dict[str, Any] = {
        "id": id, "edition": EDITION, "level": Level.NATIONAL, "state": "KEN",
        "submitter_email": "focal@example.org", "submitter_name": "Focal point",
        "organization": "Ministry of Labour", "objectives": objectives, "title": title,
        "language": "en", "received_on": dt.date(2030, 3, 2),
        "document": Document(link="https://example.org/review.pdf"),
        "status": Status.ACCEPTED}
    return Submission.model_validate(data | changes)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    output = tmp_path_factory.mktemp("site")
    inputs = [*sample_submissions(240, edition=EDITION),
              _input("ken-return", FINDABLE, (21,)),
              _input("hostile", HOSTILE, (7, 23), organization="<b>bold</b> NGO",
                     level=Level.STAKEHOLDER, state=None)]
    build_site(edition=EDITION, submissions=inputs, calendar=build_calendar(EDITION),
               output=output)
    server = SiteServer(output, port=0)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def dialogs(page: Any) -> list[str]:
    """Every alert() the page tried: there must be none."""
    seen: list[str] = []

    def record(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=10_000)
    return playwright_expect


def test_index_at_phone_and_desktop_width(site: str, page: Any, tmp_path: Path) -> None:
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.goto(f"{site}{EDITION}/index.html")
        expect()(page.get_by_role("heading", level=1)).to_have_text(
            re.compile(f"^Inputs to the IMRF {EDITION}"))
        page.screenshot(path=str(tmp_path / f"index-{name}.png"), full_page=False)
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    # Keyboard: the first Tab reaches the skip link, which shows itself and moves focus on.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect()(skip).to_be_focused()
    expect()(skip).to_be_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_filters_work_without_javascript(site: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{site}{EDITION}/index.html")
        filters = page.get_by_role("navigation", name="Filter the inputs")
        filters.get_by_role("link", name="National", exact=True).click()
        expect()(page).to_have_url(re.compile(r"/level/national/index\.html$"))
        expect()(page.get_by_role("heading", level=1)).to_have_text(
            f"National inputs to the IMRF {EDITION}")
        levels = page.locator("ol.inputs .level").all_inner_texts()
        assert levels and set(levels) == {"National"}
        filters.get_by_role("link", name="African States").click()
        expect()(page).to_have_url(re.compile(r"/region/african/index\.html$"))
        assert page.locator("ol.inputs li").count() > 0
        filters.get_by_text("Objective", exact=True).click()  # opens the <details>
        filters.get_by_role("link", name="21. Dignified return and reintegration").click()
        expect()(page).to_have_url(re.compile(r"/objective/21/index\.html$"))
        # The input is on the objective's first page (newest first), found by its title.
        page.get_by_role("link", name=FINDABLE).click()
        expect()(page.get_by_role("heading", level=1)).to_have_text(FINDABLE)
        expect()(page.get_by_role("link", name=re.compile(
            "Objective 21: Dignified return"))).to_be_visible()
        # From the input, its region and level lead back to the filtered lists.
        page.get_by_role("link", name="African States").click()
        expect()(page).to_have_url(re.compile(r"/region/african/index\.html$"))
    finally:
        context.close()


def test_hostile_title_is_text(site: str, page: Any, dialogs: list[str]) -> None:
    page.goto(f"{site}{EDITION}/objective/7/index.html")
    link = page.get_by_role("link", name=HOSTILE)
    expect()(link).to_be_visible()
    link.click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(HOSTILE)
    expect()(page.get_by_text("<b>bold</b> NGO", exact=True)).to_be_visible()
    assert page.locator("main script, main img, main b").count() == 0
    assert page.locator("script").count() == 0
    assert dialogs == []


def test_imrf_run_serves_the_site_and_prints_its_address(imrf_run: Any, page: Any) -> None:
    """`make run` builds the planned edition's site at start and serves it beside the UI."""
    found = re.search(r"Inputs website: (http://127\.0\.0\.1:\d+/)", imrf_run.output())
    assert found, imrf_run.output()
    page.goto(found.group(1))
    edition = page.get_by_role("link", name=re.compile(r"^IMRF \d{4}$")).first
    expect()(edition).to_be_visible()
    edition.click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Inputs to the IMRF \d{4}"))
    expect()(page.get_by_role("link", name="Calendar")).to_be_visible()
