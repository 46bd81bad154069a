"""Artifacts operators read in the UI: the edition's calendar and each stage's summary.

Called from inside flow runs (an artifact made outside one is deprecated in Prefect 3).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from imrf.cycle_status import milestone_rows
from imrf.stages import plan_edition
from tasks import context
from tasks.records import records


def calendar_key(edition: int) -> str:
    return f"imrf-{edition}-calendar"


def publish_calendar(edition: int, as_of: dt.date) -> None:
    """The calendar table artifact (key imrf-<edition>-calendar), with status per milestone."""
    cal = context.calendar(edition)
    rec = records()
    rows = milestone_rows(cal, plan_edition(cal), rec.stages(edition), rec.steps(edition), as_of)
    create_table_artifact(
        key=calendar_key(edition), table=rows,
        description=(f"IMRF {edition}: forum {cal.forum_start:%d %B %Y} to "
                     f"{cal.forum_end:%d %B %Y} ({cal.modalities}); status as of {as_of}"),
    )


def publish_stage_summary(edition: int, stage: str, instance: str, title: str,
                          lines: list[str], sends: list[dict[str, Any]]) -> None:
    table = ["| message | recipients | sent | already sent | failed | unknown | requests |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for s in sends:
        table.append(f"| {s['kind']} of {s['milestone']} | {s['recipients']} | {s['sent']} | "
                     f"{s['already_sent']} | {s['failed']} | {s['unknown']} | {s['requests']} |")
    markdown = "\n".join([f"# {title}", "", *lines, "", *(table if sends else [])])
    suffix = f"-{instance}" if instance else ""
    create_markdown_artifact(markdown, key=f"imrf-{edition}-{stage}{suffix}",
                             description=title)
