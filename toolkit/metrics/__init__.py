"""KPIs over any event log, per team, service and period, from one code path.

The same functions measure the simulated truth, the reported view and an ingested real export,
so the gap between truth and report is never an artefact of measuring them differently.
"""

# The KPI modules register their KPIs in CATALOGUE when imported.
from toolkit.events.periods import PERIODS, period_bounds
from toolkit.metrics import (  # noqa: F401
    availability,
    bunching,
    changes,
    csat_adjustment,
    incidents,
)
from toolkit.metrics.compute import compute_kpis, summary
from toolkit.metrics.registry import CATALOGUE, KPI, catalogue_table

__all__ = [
    "CATALOGUE",
    "KPI",
    "PERIODS",
    "catalogue_table",
    "compute_kpis",
    "period_bounds",
    "summary",
]
