"""Issue 2: the calendars of 100 editions, and `imrf calendar` as a whole process."""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import PYTHON, Figure, median_process_time, median_time


def run() -> list[Figure]:
    from imrf.calendar import build_calendar
    from imrf.holidays import WorkingDays

    years = [2022 + 4 * k for k in range(100)]

    def hundred() -> None:
        # A fresh WorkingDays each time: holiday tables are part of the cost.
        wd = WorkingDays()
        for year in years:
            build_calendar(year, working_days=wd)

    baseline = median_process_time([PYTHON, "-c", "pass"])
    imrf = str(Path(PYTHON).with_name("imrf"))
    env_ok = os.path.exists(imrf)
    cli = median_process_time(
        [imrf, "calendar", "--edition", "2026", "--format", "json"] if env_ok
        else [PYTHON, "-m", "imrf.cli.main", "calendar", "--edition", "2026", "--format", "json"]
    )
    return [
        Figure("calendar: 100 editions (2022-2418), in process", median_time(hundred),
               target_s=0.2),
        Figure("calendar: `imrf calendar --edition 2026 --format json`", cli,
               baseline="python -c pass", baseline_s=baseline, target_s=1.0),
    ]
