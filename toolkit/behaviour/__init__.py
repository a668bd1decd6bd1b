"""Behaviour: the levers teams pull, the gaming transforms and what an auditor finds of them."""

from toolkit.behaviour.audit import audit_evidence, misattributions_without_outage
from toolkit.behaviour.reporting import (
    APPLICATION_ORDER,
    GAMING_LEVERS,
    REPORTING_LEVERS,
    WORLD_GAMING_LEVERS,
    report,
)

__all__ = [
    "APPLICATION_ORDER",
    "GAMING_LEVERS",
    "REPORTING_LEVERS",
    "WORLD_GAMING_LEVERS",
    "audit_evidence",
    "misattributions_without_outage",
    "report",
]
