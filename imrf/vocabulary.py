"""Closed vocabularies shared by the whole domain: audiences, regional groups, commissions.

They are enums rather than free strings so that a typo in a CSV row, a modalities file or a
flow parameter is refused at the boundary with the list of accepted values.
"""

from __future__ import annotations

from enum import StrEnum


class Audience(StrEnum):
    """Who a message is addressed to (a contact may belong to several)."""

    MEMBER_STATES = "member-states"
    OBSERVER_STATES = "observer-states"
    IGOS = "igos"
    UN_SYSTEM = "un-system"
    ECOSOC_NGOS = "ecosoc-ngos"
    ACCREDITED_STAKEHOLDERS = "accredited-stakeholders"
    OTHER_STAKEHOLDERS = "other-stakeholders"
    CO_CHAIRS = "co-chairs"
    CO_FACILITATORS = "co-facilitators"
    NETWORK = "network"
    PGA_OFFICE = "pga-office"
    REGIONAL_COMMISSIONS = "regional-commissions"
    OPERATORS = "operators"


class RegionalGroup(StrEnum):
    """The five UN regional groups (OP28: co-chairs balanced across them)."""

    AFRICAN = "african"
    ASIA_PACIFIC = "asia-pacific"
    EASTERN_EUROPEAN = "eastern-european"
    GRULAC = "grulac"
    WEOG = "weog"


class Commission(StrEnum):
    """The five UN regional economic commissions that hold the regional reviews (OP10)."""

    ECA = "eca"
    ECE = "ece"
    ECLAC = "eclac"
    ESCAP = "escap"
    ESCWA = "escwa"


class MilestoneKind(StrEnum):
    """A deadline has a due date; a meeting and a window have a start and an end."""

    DEADLINE = "deadline"
    MEETING = "meeting"
    WINDOW = "window"


class MessageKind(StrEnum):
    """A notice announces a milestone; a reminder comes some days before it; an escalation
    tells the operators that a human step is still open after its deadline."""

    NOTICE = "notice"
    REMINDER = "reminder"
    ESCALATION = "escalation"
