"""The dossier of the Progress Declaration (OP39) and its annexes (OP41).

OP39: the inputs received ahead of the forum, the Secretary-General's report preceding it and
the summaries of the round tables and of the policy debate are the basis of the declaration;
OP41: the plenary summaries, the technical summaries and the policy debate summary are
annexed to it. The dossier collects what has been received (with its link), counts the
accepted inputs when the inputs registry is installed, and lists what is missing, including
what the recorded declaration itself lacks (OP40).
"""

from __future__ import annotations

import datetime as dt
import importlib

from pydantic import BaseModel, ConfigDict

from imrf.forum import declaration as declaration_record
from imrf.forum import documents
from imrf.forum.cochairs import co_facilitators
from imrf.forum.negotiations import NegotiationPlan, NegotiationStatus, plan, status
from imrf.human_steps import DeclarationAgreed, Person
from imrf.milestones import EditionCalendar
from imrf.modalities import Modalities
from imrf.store import Store


class Dossier(BaseModel):
    model_config = ConfigDict(frozen=True)

    edition: int
    as_of: dt.date
    inputs_accepted: int | None  # None: the inputs registry is not installed
    basis: list[documents.DocumentStatus]  # OP39
    annexes: list[documents.DocumentStatus]  # OP41
    co_facilitators: list[Person]
    negotiations: NegotiationPlan
    negotiation_status: NegotiationStatus
    declaration: DeclarationAgreed | None
    missing: list[str]


def accepted_inputs(store: Store, edition: int) -> int | None:
    """How many inputs are accepted for `edition`, or None when the registry is absent."""
    try:
        module = importlib.import_module("imrf.inputs.registry")
    except ModuleNotFoundError as exc:
        if exc.name in ("imrf.inputs.registry", "imrf.inputs"):
            return None
        raise
    registry_class = getattr(module, "InputRegistry", None)
    if registry_class is None:
        return None
    return len(list(registry_class(store).accepted(edition)))


def build(store: Store, calendar: EditionCalendar, modalities: Modalities,
          as_of: dt.date) -> Dossier:
    edition = calendar.edition
    all_docs = documents.statuses(calendar, modalities, documents.received(store, edition),
                                  as_of)
    dossier_ids = {d.id for d in modalities.forum_documents if d.dossier}
    annex_ids = {d.id for d in modalities.forum_documents if d.annex}
    basis = [d for d in all_docs if d.document in dossier_ids]
    annexes = [d for d in all_docs if d.document in annex_ids]
    inputs = accepted_inputs(store, edition)
    facilitators = co_facilitators(store, edition)
    agreed = declaration_record.recorded(store, edition)
    negotiations = plan(calendar, modalities)
    missing = []
    if inputs == 0:
        missing.append("no input is accepted yet (OP13, OP39)")
    if not facilitators:
        missing.append("the two co-facilitators are not appointed (OP36)")
    seen = set()
    for doc in basis + annexes:
        if doc.state != "received" and (doc.document, doc.roundtable) not in seen:
            seen.add((doc.document, doc.roundtable))
            missing.append(f"{doc.label}: not received ({doc.state}, due {doc.due})")
    missing += declaration_record.missing(agreed, modalities)
    return Dossier(edition=edition, as_of=as_of, inputs_accepted=inputs, basis=basis,
                   annexes=annexes, co_facilitators=facilitators, negotiations=negotiations,
                   negotiation_status=status(negotiations, modalities, as_of,
                                             agreed=agreed is not None),
                   declaration=agreed, missing=missing)
