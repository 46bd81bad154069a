"""A regional review's outcome, recorded by the secretariat, becomes a regional input (OP10, OP13).

The ``review-outcome`` human step of the regional-review stage gives the outcome document's
title and link; the input is registered for the commission that held the review, accepted
(an operator recorded it), addressing all 23 objectives (a regional review covers the whole
Global Compact), in English unless the operator corrects it. Its submitter is the
commission's contact in the registry (audience ``regional-commissions``, organisation named
after the commission); without one, the secretariat's own address is used and no
acknowledgement is sent. Recording the same outcome twice finds the input already there.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from imrf import reference
from imrf.contacts import ContactRegistry
from imrf.human_steps import ReviewOutcome
from imrf.inputs.intake import NewInput
from imrf.inputs.models import Level, Status, Submission
from imrf.inputs.registry import InputRegistry
from imrf.reference import OBJECTIVE_COUNT
from imrf.vocabulary import Audience, Commission

RECORDED_BY = "regional-review step"
LANGUAGE = "en"


class Registered(NamedTuple):
    submission: Submission
    acknowledge: bool  # the submitter is the commission's contact


def register_review_outcome(registry: InputRegistry, *, edition: int, commission: Commission,
                            answer: ReviewOutcome, received_on: dt.date,
                            secretariat_email: str) -> Registered:
    info = reference.commissions()[commission]
    prefix = " ".join(info.name.casefold().split())
    contact = next((c for c in ContactRegistry(registry.store).contacts_for(
        [Audience.REGIONAL_COMMISSIONS])
        if " ".join(c.organization.casefold().split()).startswith(prefix)), None)
    meta = NewInput(
        edition=edition, level=Level.REGIONAL, commission=commission,
        submitter=contact.email if contact else secretariat_email,
        submitter_name=contact.name if contact else "IMRF secretariat",
        organization=info.name, objectives=tuple(range(1, OBJECTIVE_COUNT + 1)),
        title=answer.title, language=LANGUAGE, link=answer.link, received_on=received_on)
    existing = next((s for s in registry.list(edition) if s.level is Level.REGIONAL
                     and s.commission is commission and s.document.link == answer.link
                     and s.status is not Status.REJECTED), None)
    if existing is not None:  # the stage ran again
        return Registered(existing, acknowledge=contact is not None)
    # One outcome document may serve two commissions (a joint review): an input of each.
    submission = registry.add(meta, recorded_by=RECORDED_BY, check_duplicates=False)
    return Registered(submission, acknowledge=contact is not None)
