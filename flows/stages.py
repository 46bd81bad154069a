"""One flow per stage of the cycle. Their docstrings are what operators read in the UI.

Every stage takes the edition (the forum's year), `as_of` (the day the run acts for; empty
means today in New York) and `answers` (scripted answers to the human step, used by the
simulation or by an operator who already has the answer when triggering by hand).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from prefect import Flow, flow

from flows.stage_runner import run_stage
from imrf.vocabulary import Commission

Edition = int
Answers = dict[str, Any] | None
FLOW_OPTIONS: dict[str, Any] = {"persist_result": True, "log_prints": True}


@flow(name="imrf-regional-review", **FLOW_OPTIONS)
def regional_review(edition: Edition, instance: Commission, as_of: dt.date | None = None,
                    answers: Answers = None) -> dict[str, Any]:
    """Regional review by one UN regional economic commission (PP11, OP9-OP10).

    Runs on the first day of the commission's review window: tells the commission, the
    network, Member States and stakeholders that the review is open. Then asks the
    secretariat to record the review's outcome document, an input to the forum (OP13).
    """
    return run_stage("regional-review", edition, Commission(instance).value, as_of=as_of,
                     answers=answers)


@flow(name="imrf-sg-biennial-report", **FLOW_OPTIONS)
def sg_biennial_report(edition: Edition, as_of: dt.date | None = None,
                       answers: Answers = None) -> dict[str, Any]:
    """The Secretary-General's mid-cycle biennial report (PP13).

    Announces the report to the network, the UN system and Member States, then asks the
    secretariat to confirm it was issued (document symbol and link).
    """
    return run_stage("sg-biennial-report", edition, as_of=as_of, answers=answers)


@flow(name="imrf-input-collection", **FLOW_OPTIONS)
def input_collection(edition: Edition, as_of: dt.date | None = None,
                     answers: Answers = None) -> dict[str, Any]:
    """Inputs from national, regional and global levels are due (OP13-OP14).

    Sends the deadline notice to Member States, observers, commissions, the UN system and
    stakeholders. Reminders before it go out with the daily sweep.
    """
    return run_stage("input-collection", edition, as_of=as_of, answers=answers)


@flow(name="imrf-stakeholder-registration", **FLOW_OPTIONS)
def stakeholder_registration(edition: Edition, as_of: dt.date | None = None,
                             answers: Answers = None) -> dict[str, Any]:
    """Registration of ECOSOC-status NGOs and accredited stakeholders closes (OP6)."""
    return run_stage("stakeholder-registration", edition, as_of=as_of, answers=answers)


@flow(name="imrf-stakeholder-list", **FLOW_OPTIONS)
def stakeholder_list(edition: Edition, as_of: dt.date | None = None,
                     answers: Answers = None) -> dict[str, Any]:
    """The President's list of other stakeholders goes to Member States (OP7, footnote 4).

    No later than three months before the forum, on a non-objection basis. Asks the
    secretariat to record each objection (candidate, objecting Member State, general basis)
    and to confirm when the non-objection period has closed.
    """
    return run_stage("stakeholder-list", edition, as_of=as_of, answers=answers)


@flow(name="imrf-co-chairs", **FLOW_OPTIONS)
def co_chairs(edition: Edition, as_of: dt.date | None = None,
              answers: Answers = None) -> dict[str, Any]:
    """Round-table co-chairs appointed by the President (OP28).

    Asks for two Member State co-chairs per round table; the answer is checked for
    geographical balance across the five regional groups and for gender balance.
    """
    return run_stage("co-chairs", edition, as_of=as_of, answers=answers)


@flow(name="imrf-co-facilitators", **FLOW_OPTIONS)
def co_facilitators(edition: Edition, as_of: dt.date | None = None,
                    answers: Answers = None) -> dict[str, Any]:
    """Two co-facilitators appointed ahead of the forum for the negotiations (OP36)."""
    return run_stage("co-facilitators", edition, as_of=as_of, answers=answers)


@flow(name="imrf-documents", **FLOW_OPTIONS)
def documents(edition: Edition, instance: Literal["sg-report", "background-notes"],
              as_of: dt.date | None = None, answers: Answers = None) -> dict[str, Any]:
    """Pre-forum documents: the Secretary-General's report (OP15) or the background notes
    of the round tables (OP29), due at least six weeks before the forum.

    Sends the notice, then asks the secretariat to confirm the document was issued.
    """
    return run_stage("documents", edition, instance, as_of=as_of, answers=answers)


@flow(name="imrf-hearing", **FLOW_OPTIONS)
def hearing(edition: Edition, as_of: dt.date | None = None,
            answers: Answers = None) -> dict[str, Any]:
    """The one-day multi-stakeholder hearing before the forum and its summary (OP17)."""
    return run_stage("hearing", edition, as_of=as_of, answers=answers)


@flow(name="imrf-forum", **FLOW_OPTIONS)
def forum(edition: Edition, instance: str = "1", as_of: dt.date | None = None,
          answers: Answers = None) -> dict[str, Any]:
    """One day of the forum (OP20-OP35): the sessions of that day.

    `instance` is the forum day (1, 2, 3...). On the last day the secretariat confirms that
    the round tables' technical summaries and the policy debate summary were received.
    """
    return run_stage("forum", edition, str(instance), as_of=as_of, answers=answers)


@flow(name="imrf-summaries-distribution", **FLOW_OPTIONS)
def summaries_distribution(edition: Edition, as_of: dt.date | None = None,
                           answers: Answers = None) -> dict[str, Any]:
    """Distribution of the technical summaries and the policy debate summary, within ten
    UN working days after the forum (OP35)."""
    return run_stage("summaries-distribution", edition, as_of=as_of, answers=answers)


@flow(name="imrf-negotiations", **FLOW_OPTIONS)
def negotiations(edition: Edition, as_of: dt.date | None = None,
                 answers: Answers = None) -> dict[str, Any]:
    """Negotiations on the Progress Declaration (OP36-OP41).

    Opens the negotiations the day after the forum and waits for the secretariat to record
    that the declaration was agreed (with OP40's three parts and OP41's annexes) — no later
    than two months after the forum; then announces the declaration.
    """
    return run_stage("negotiations", edition, as_of=as_of, answers=answers)


STAGE_FLOWS: dict[str, Flow[..., dict[str, Any]]] = {
    "regional-review": regional_review,
    "sg-biennial-report": sg_biennial_report,
    "input-collection": input_collection,
    "stakeholder-registration": stakeholder_registration,
    "stakeholder-list": stakeholder_list,
    "co-chairs": co_chairs,
    "co-facilitators": co_facilitators,
    "documents": documents,
    "hearing": hearing,
    "forum": forum,
    "summaries-distribution": summaries_distribution,
    "negotiations": negotiations,
}
