"""The canonical event-log schema shared by simulated and real data.

Columns may be added, never renamed without a migration. ``responded_at`` (work began),
``subcontractor_id`` and the ``services`` table extend the core schema.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROOT_CAUSES = ("internal", "change", "vendor", "external", "unknown")
CHANGE_TYPES = ("standard", "normal", "emergency", "unauthorized")
OUTAGE_SOURCES = ("vendor", "external")
PRIORITIES = (1, 2, 3, 4)

# Text held as Python strings: logs are filtered and sliced many times per run, and taking rows
# of small Arrow-backed columns costs more than the strings save.
STR = pd.StringDtype("python", na_value=np.nan)
TIME = "datetime64[ns]"
INT = "int64"
NULLABLE_INT = "Int64"  # pandas' integer with missing values
FLOAT = "float64"
BOOL = "bool"

SCHEMA: dict[str, dict[str, str | pd.StringDtype]] = {
    "incidents": {
        "incident_id": STR,
        "service_id": STR,
        "team_id": STR,
        "opened_at": TIME,
        "responded_at": TIME,
        "resolved_at": TIME,
        "closed_at": TIME,
        "priority": INT,
        "priority_initial": INT,
        "root_cause": STR,
        "change_id": STR,
        "vendor_id": STR,
        "reopen_count": INT,
        "reassignment_count": INT,
        "on_hold_hours": FLOAT,
        "sla_target_hours": FLOAT,
        "sla_breached": BOOL,
        "csat": FLOAT,
    },
    "changes": {
        "change_id": STR,
        "team_id": STR,
        "service_id": STR,
        "type": STR,
        "submitted_at": TIME,
        "implemented_at": TIME,
        "cab_reviewed": BOOL,
        "failed": BOOL,
        "justification": STR,
    },
    "outages": {
        "outage_id": STR,
        "source": STR,
        "vendor_id": STR,
        "subcontractor_id": STR,
        "service_id": STR,
        "start": TIME,
        "end": TIME,
    },
    "services": {
        "service_id": STR,
        "team_id": STR,
        "business_unit": STR,
        "criticality": NULLABLE_INT,
        "complexity": FLOAT,
        "platform_age_years": FLOAT,
    },
}

# Columns that may hold missing values; every other column must be complete.
NULLABLE: dict[str, set[str]] = {
    "incidents": {"responded_at", "resolved_at", "closed_at", "change_id", "vendor_id", "csat"},
    "changes": {"implemented_at", "justification"},
    "outages": {"vendor_id", "subcontractor_id", "end"},
    "services": {"business_unit", "criticality", "complexity", "platform_age_years"},
}

ALLOWED_VALUES: dict[tuple[str, str], tuple] = {
    ("incidents", "root_cause"): ROOT_CAUSES,
    ("incidents", "priority"): PRIORITIES,
    ("incidents", "priority_initial"): PRIORITIES,
    ("changes", "type"): CHANGE_TYPES,
    ("outages", "source"): OUTAGE_SOURCES,
}


def text(values) -> pd.api.extensions.ExtensionArray:
    """Return ``values`` (strings, ``None`` for missing) in the schema's text dtype."""
    return pd.array(values, dtype=STR)


def positions(index, values) -> np.ndarray:
    """Return the position of each of ``values`` in ``index`` (-1 where absent).

    Both sides are matched as Python objects: left to itself, pandas would first convert them
    to its Arrow string dtype, which costs more than the lookup.
    """
    return pd.Index(index, dtype=object).get_indexer(pd.Index(values, dtype=object))
