"""What a production test drives and checks: the topology, the fake SendGrid, the store."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from imrf.devtools.fake_sendgrid import FakeSendGrid
from prod.topology import Topology

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass
class Prod:
    """The running topology and what a test needs to drive and check it."""

    topo: Topology
    fake: FakeSendGrid
    key: str
    store: Any  # imrf.store.Store

    # --- Prefect ---------------------------------------------------------------------------
    def trigger(self, flow: str, *, scheduled: dt.datetime | None = None,
                **parameters: Any) -> UUID:
        from prefect.deployments import run_deployment

        run: Any = run_deployment(name=f"{flow}/cycle", parameters=parameters, timeout=0,
                                  as_subflow=False, scheduled_time=scheduled)
        return UUID(str(run.id))

    def run(self, flow_run_id: UUID) -> Any:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            return client.read_flow_run(flow_run_id)

    def wait(self, flow_run_id: UUID, states: set[str] | None = None,
             timeout: float = 180.0) -> Any:
        """The run once its state type is one of `states` (default: any terminal one)."""
        wanted = states or TERMINAL
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(flow_run_id)
            kind = run.state.type.value if run.state else ""
            if kind in wanted:
                return run
            if kind in TERMINAL - wanted or time.monotonic() > deadline:
                raise AssertionError(f"run {run.name} is {run.state!r}, wanted {wanted}\n"
                                     + self.logs_text(flow_run_id)[-3000:])
            time.sleep(1.0)

    def logs_text(self, flow_run_id: UUID | None = None) -> str:
        from prefect import get_client
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

        flt = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])) \
            if flow_run_id else LogFilter()
        lines: list[str] = []
        with get_client(sync_client=True) as client:
            offset = 0
            while True:
                page = client.read_logs(log_filter=flt, limit=200, offset=offset)
                lines += [f"{log.timestamp:%H:%M:%S} {log.name}: {log.message}" for log in page]
                if len(page) < 200:
                    return "\n".join(lines)
                offset += 200

    def wait_for_logs(self, flow_run_id: UUID, *needles: str, timeout: float = 60) -> str:
        """The run's log once it holds every needle (the server stores logs a little after
        the run ends)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.logs_text(flow_run_id)
            if all(n in text for n in needles) or time.monotonic() > deadline:
                return text
            time.sleep(1.0)

    def result(self, flow_run_id: UUID) -> Any:
        run = self.run(flow_run_id)
        return run.state.result()

    # --- the domain store and the fake SendGrid ---------------------------------------------
    def ledger_states(self, edition: int) -> Counter[str]:
        from imrf.ledger import Ledger

        counts: Counter[str] = Counter()
        for row in Ledger(self.store).summary(edition):
            counts[row.state.value] += row.count
        return counts

    def delivered(self, edition: int) -> Counter[tuple[str, str]]:
        """(ledger occasion, recipient) → how many times the fake SendGrid accepted it."""
        return Counter((r.custom_args.get("ledger_milestone", ""), r.email.lower())
                       for r in self.fake.delivered
                       if r.custom_args.get("edition") == str(edition))

    def assert_each_once(self, edition: int) -> int:
        """Every ledger row sent, and delivered by the provider exactly once; the count."""
        from imrf.ledger import Ledger

        rows = {(e.key.milestone, e.key.recipient): e.state.value
                for e in Ledger(self.store).entries(edition=edition)}
        delivered = self.delivered(edition)
        twice = [k for k, n in delivered.items() if n > 1]
        assert not twice, f"sent twice: {twice[:5]} (+{len(twice)})"
        assert Counter(rows.values()) == Counter({"sent": len(rows)}), Counter(rows.values())
        assert set(delivered) == set(rows), (len(delivered), len(rows))
        return len(rows)
