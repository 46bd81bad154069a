"""Who is no longer reminded of ``inputs-due`` (OP13, OP24, OP10-12): those who submitted.

The notifier calls :func:`submitted` before each reminder of ``inputs-due`` (see
:mod:`imrf.chasing`). An input counts once it is accepted or held (held: the submitter did
their part and an operator is deciding; if the operator rejects it, reminders resume). Done
for an edition are:

- every contact of a Member State (audience ``member-states``, its ``country``) with a
  national input;
- every contact of a regional commission (audience ``regional-commissions``, organisation
  named after the commission in ``config/reference/commissions.yaml``) with a regional input;
- every contact (other than Member States' contacts) of an organisation that submitted a
  global or stakeholder input (the GFMD, the IOM International Dialogue on Migration, a UN
  entity, a stakeholder: OP11-12), matched by organisation name;
- the submitter of every such input.
"""

from __future__ import annotations

from imrf import reference
from imrf.contacts import ContactRegistry
from imrf.inputs.models import Level
from imrf.inputs.registry import NOT_GIVEN, InputRegistry
from imrf.inputs.tracker import counted
from imrf.store import Store
from imrf.vocabulary import Audience


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def submitted(store: Store, edition: int) -> set[str]:
    """Lower-cased addresses not to remind of ``inputs-due`` in ``edition``."""
    live = counted(InputRegistry(store).list(edition))
    if not live:
        return set()
    done = {s.submitter_email.lower() for s in live}
    states = {s.state for s in live if s.level is Level.NATIONAL and s.state}
    organizations = {_key(s.organization) for s in live
                     if s.level in (Level.GLOBAL, Level.STAKEHOLDER)
                     and s.organization != NOT_GIVEN}
    infos = reference.commissions()
    commission_names = tuple(_key(infos[s.commission].name) for s in live
                             if s.level is Level.REGIONAL and s.commission in infos
                             and s.commission is not None)
    for contact in ContactRegistry(store).all_contacts():
        organization = _key(contact.organization)
        state_contact = Audience.MEMBER_STATES in contact.audiences
        if (
            (state_contact and contact.country in states)
            or (Audience.REGIONAL_COMMISSIONS in contact.audiences and commission_names
                and organization.startswith(commission_names))
            or (not state_contact and organization and organization in organizations)
        ):
            done.add(contact.email.lower())
    return done
