"""The real flows on the production topology: authentication, a planned cycle run by the
workers, and the SendGrid key kept out of everything the server stores."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pendulum
import pytest
from prod_harness import Prod

from imrf.calendar import build_calendar
from imrf.cycle_records import CycleRecords
from imrf.simulation import scripted_answers
from imrf.stages import plan_edition
from prod.topology import pid_of

pytestmark = pytest.mark.prod
EDITION = 2030


def test_the_api_refuses_requests_without_the_auth_string(prod: Prod) -> None:
    api = prod.topo.api_url
    assert httpx.get(f"{api}/health").status_code == 200  # probes stay open
    refused = httpx.post(f"{api}/flows/filter", json={})
    assert refused.status_code == 401
    wrong = httpx.post(f"{api}/flows/filter", json={}, headers={
        "Authorization": "Basic " + base64.b64encode(b"imrf:guess").decode()})
    assert wrong.status_code == 401
    token = base64.b64encode(prod.topo.auth_string.encode()).decode()
    allowed = httpx.post(f"{api}/flows/filter", json={},
                         headers={"Authorization": f"Basic {token}"})
    assert allowed.status_code == 200
    assert "imrf-plan-cycle" in {f["name"] for f in allowed.json()}


def test_a_planned_cycle_runs_on_the_workers(prod: Prod) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.flow_runs import resume_flow_run
    from prefect.states import Scheduled

    cal = build_calendar(EDITION)
    planned = plan_edition(cal)
    plan = prod.wait(prod.trigger("imrf-plan-cycle", edition=EDITION, as_of="2027-01-01"))
    assert plan.state.is_completed()
    with get_client(sync_client=True) as client:
        runs = {r.name: r for r in client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=["imrf", f"imrf-edition-{EDITION}"])))}
    assert set(runs) == {r.run_name for r in planned}
    assert all(r.state is not None and r.state.is_scheduled() for r in runs.values())

    # Three planned runs fall due now: two send notices, one waits for the operators.
    chosen = {r.stage: r for r in planned
              if r.stage in ("stakeholder-registration", "summaries-distribution", "co-chairs")}
    now = pendulum.now("UTC")
    with get_client(sync_client=True) as client:
        for run in chosen.values():
            client.set_flow_run_state(runs[run.run_name].id, Scheduled(scheduled_time=now),
                                      force=True)
    co_chairs = runs[chosen["co-chairs"].run_name].id
    prod.wait(co_chairs, {"PAUSED"})
    answer = scripted_answers(cal, "co-chairs", chosen["co-chairs"].date)["co-chairs"]
    resume_flow_run(co_chairs, run_input=answer)
    for run in chosen.values():
        done = prod.wait(runs[run.run_name].id, timeout=300)
        assert done.state.is_completed(), done.state
    records = {(s.stage, s.state) for s in CycleRecords(prod.store).stages(EDITION)}
    assert records == {(stage, "completed") for stage in chosen}
    step = CycleRecords(prod.store).step(edition=EDITION, stage="co-chairs", instance="")
    assert step is not None and step.state == "answered"
    assert prod.assert_each_once(EDITION) > 8000  # the registration notice reaches thousands


def test_the_sendgrid_key_is_in_no_log_artifact_or_deployment(prod: Prod) -> None:
    from prefect import get_client

    cal = build_calendar(2026)
    run = next(r for r in plan_edition(cal) if r.stage == "co-facilitators")
    prod.wait(prod.trigger("imrf-co-facilitators", edition=2026, as_of=run.date.isoformat(),
                           answers=scripted_answers(cal, "co-facilitators", run.date)))
    assert prod.delivered(2026), "nothing went through SendGrid: the key was not used"
    for number in range(1, prod.topo.workers + 1):  # the workers had it from the block only
        pid = pid_of(prod.topo, f"worker-{number}")
        assert pid is not None
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not any(v.startswith(b"SENDGRID_API_KEY=") for v in environ)
    key = prod.key
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(limit=200)
        deployments = client.read_deployments()
        runs = client.read_flow_runs(limit=200)
    assert artifacts and deployments and runs
    stored = [
        prod.logs_text(),
        *(json.dumps(a.model_dump(mode="json")) for a in artifacts),
        *(json.dumps(d.model_dump(mode="json")) for d in deployments),
        *(json.dumps(r.model_dump(mode="json")) for r in runs),
        (Path(prod.topo.repo) / "deployments" / "prefect.yaml").read_text(),
        *(log.read_text(errors="replace") for log in prod.topo.dir.glob("*.log")),
    ]
    assert all(key not in text for text in stored)
    assert all(key[3:20] not in text for text in stored)  # nor a recognisable part of it
