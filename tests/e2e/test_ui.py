"""What an operator sees in the Prefect UI once `imrf run` serves the cycle.

One `imrf run` for the module (it takes about a minute to serve); each test opens a fresh page
in headless Chromium and waits for text, never for a fixed time: the UI is a single-page app
that fills itself in after the page has loaded.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from imrf.calendar import build_calendar, next_edition
from imrf.stages import PlannedRun, plan_edition

if TYPE_CHECKING:
    from tests.e2e.conftest import ImrfRun

pytestmark = pytest.mark.e2e

# The runs page shows the past week unless told otherwise: ask for the next six years, the
# span in which `imrf run` plans the coming edition.
UI_WAIT_MS = 30_000
NEXT_SIX_YEARS = "type=span&seconds=" + str(6 * 365 * 24 * 3600)


@pytest.fixture(scope="module")
def edition() -> int:
    """The edition `imrf run` plans: the next one, as of today in New York."""
    return next_edition(dt.datetime.now(ZoneInfo("America/New_York")).date())


@pytest.fixture(scope="module")
def planned(edition: int) -> list[PlannedRun]:
    today = dt.datetime.now(ZoneInfo("America/New_York")).date()
    return [run for run in plan_edition(build_calendar(edition)) if run.date >= today]


def expect() -> Any:
    """Playwright's expect, waiting up to 30 s: the first pages of a fresh server are slow."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=UI_WAIT_MS)
    return playwright_expect


def test_the_ui_reaches_its_api_on_the_chosen_port(imrf_run: ImrfRun, page: Any,
                                                     screenshot: Any) -> None:
    """Only PREFECT_API_URL was set: the UI must not look for its API on 4200."""
    page.goto(f"{imrf_run.base_url}/dashboard")
    # A count on the dashboard comes from the API: the planning run at least.
    reached = page.get_by_text(re.compile(r"^[1-9]\d*\s*total$")).first
    broken = page.get_by_text("Can't connect to Server API").first
    expect()(reached.or_(broken).first).to_be_visible()
    screenshot("01-dashboard")
    expect()(broken, "the UI looks for its API on another port").to_have_count(0)
    expect()(reached).to_be_visible()


def test_deployments_page_lists_every_stage(imrf_run: ImrfRun, page: Any,
                                            screenshot: Any) -> None:
    from deployments.definitions import served_flows

    # Every stage flow, planning, the sweep and the inputs' flows, each as deployment "cycle".
    flow_names = sorted(served.name for served, _ in served_flows())
    assert {"imrf-plan-cycle", "imrf-reminder-sweep"} <= set(flow_names)
    page.goto(f"{imrf_run.base_url}/deployments")
    expect()(page.get_by_text(f"{len(flow_names)} Deployments")).to_be_visible()
    screenshot("02-deployments")
    search = page.get_by_placeholder("Search deployments")
    for name in flow_names:
        search.fill(name)
        row = page.locator("tr", has=page.get_by_text(name, exact=True))
        expect()(row).to_have_count(1)
        expect()(row.get_by_text("cycle", exact=True)).to_be_visible()
        # "Ready": the serving process polls for this deployment's runs.
        expect()(row.get_by_text("Ready")).to_be_visible()
    search.fill("imrf-reminder-sweep")
    expect()(page.get_by_text("At 08:00 AM every day")).to_be_visible()
    screenshot("03-deployments-sweep")


def test_runs_page_shows_the_edition_scheduled_ahead(imrf_run: ImrfRun, page: Any,
                                                      screenshot: Any, edition: int,
                                                      planned: list[PlannedRun]) -> None:
    page.goto(f"{imrf_run.base_url}/runs?{NEXT_SIX_YEARS}")
    sg_report = next(run for run in planned if run.run_name == f"{edition}-documents-sg-report")
    sg_row = page.locator("div.flow-run-list-item, .p-list-item, [class*=list-item]",
                          has=page.get_by_text(sg_report.run_name, exact=True)).first
    expect()(sg_row).to_be_visible()
    screenshot("04-runs-upcoming")
    for run in planned:
        expect()(page.get_by_text(run.run_name, exact=True)).to_be_visible()
    # At 08:00 New York on the milestone's date, in an operator's New York browser.
    expect()(sg_row.get_by_text("Scheduled", exact=True)).to_be_visible()
    expect()(sg_row.get_by_text(
        f"Scheduled for {sg_report.scheduled_at:%Y/%m/%d %I:%M:%S %p}")).to_be_visible()


def test_calendar_artifact_shows_the_milestones(imrf_run: ImrfRun, page: Any,
                                                screenshot: Any, edition: int) -> None:
    key = f"imrf-{edition}-calendar"
    page.goto(f"{imrf_run.base_url}/artifacts")
    page.get_by_text(key, exact=True).click()
    page.wait_for_url(f"**/artifacts/key/{key}")
    page.locator("a[href*='/artifacts/artifact/']").first.click()
    table = page.locator("table", has=page.get_by_text("Secretary-General's report available"))
    expect()(table).to_be_visible()
    screenshot("05-calendar-artifact")
    for heading in ("when", "milestone", "paragraph", "status"):
        expect()(table.get_by_role("columnheader", name=heading, exact=True)).to_be_visible()
    sg_report = table.locator("tr", has=page.get_by_text("Secretary-General's report available"))
    expect()(sg_report.get_by_text("OP15", exact=True)).to_be_visible()
    status = sg_report.get_by_text("scheduled", exact=True)
    expect()(status).to_be_visible()
    # The long round-table titles push status past the right edge: the operator scrolls.
    status.scroll_into_view_if_needed()
    screenshot("06-calendar-artifact-status")


def test_ctrl_c_stops_the_server_and_the_serving_process(imrf_run: ImrfRun) -> None:
    """Last: Ctrl-C ends `imrf run`, its Prefect server and `serve`; the port is free."""
    began = time.monotonic()
    stopped_by = imrf_run.stop()
    took = time.monotonic() - began
    assert stopped_by == "SIGINT", f"Ctrl-C did not stop everything ({stopped_by} did)"
    assert imrf_run.process.returncode == 0, imrf_run.output()
    assert "Stopping ..." in imrf_run.output()
    assert not imrf_run.group_alive()
    assert not imrf_run.listening(), f"something still listens on {imrf_run.port}"
    assert took < 30, f"Ctrl-C took {took:.1f} s to stop everything"
