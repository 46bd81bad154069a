"""Issue 6: a general-debate list of 200 States, checked, ordered and capacity-checked (OP23).

The reference data holds 195 States (193 Members, 2 observers); five fictional observer
States make up the 200. Baseline, measured in the same run: validating the 200 inscriptions
with pydantic, the least any list built from operator input costs.
"""

from __future__ import annotations

from bench.common import Figure, median_time


def run() -> list[Figure]:
    from imrf.calendar import build_calendar
    from imrf.forum import programme, speakers
    from imrf.modalities import load_modalities
    from imrf.reference import State, objectives, states

    table = dict(states())
    for n in range(200 - len(table)):
        code = f"XZ{chr(65 + n)}"
        table[code] = State(name=f"Fictional State {n + 1}", official_name="", iso3=code,
                            status="observer-state")
    codes = list(table)[:200]
    levels = ["head-of-state", "head-of-government", "minister", "vice-minister",
              "head-of-delegation"]
    raw = [{"state": code, "level": levels[i % len(levels)], "speaker": f"Speaker {i}"}
           for i, code in enumerate(codes)]
    calendar = build_calendar(2026)
    modalities = load_modalities(calendar.modalities)

    def baseline() -> None:
        [speakers.Inscription.model_validate(item) for item in raw]

    def build_and_check() -> speakers.SpeakersList:
        items = [speakers.Inscription.model_validate(item) for item in raw]
        taken: set[str] = set()
        for item in items:
            assert not speakers.check_inscription(item, modalities, table, taken)
            taken.add(item.state)
        return speakers.build(items, calendar, modalities, table)

    result = build_and_check()
    assert len(result.scheduled) + len(result.overflow) == 200 and result.warning
    records = programme.Records(inscriptions=[speakers.Inscription.model_validate(i)
                                              for i in raw])

    def render() -> None:
        built = programme.build(calendar, modalities, records, states=table,
                                objectives=objectives(), as_of=calendar.forum_start)
        programme.to_html(built)

    base = median_time(baseline, repeats=15)
    return [
        Figure("speakers: 200 States checked, ordered, capacity-checked",
               median_time(build_and_check, repeats=15), baseline="validate 200 inscriptions",
               baseline_s=base, target_s=1.0,
               extra=f"{len(result.scheduled)} fit, {len(result.overflow)} overflow"),
        Figure("speakers: the programme with those 200, as HTML", median_time(render),
               baseline="validate 200 inscriptions", baseline_s=base, target_s=1.0),
    ]
