"""Change KPIs: delivery, change care and its defects, each placed in a period by implemented_at."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.metrics.context import Grouped, KpiRows, MeasureContext
from toolkit.metrics.registry import register


def implemented(ctx: MeasureContext) -> Grouped:
    """Place changes in the period in which they were implemented (pending ones left out)."""
    return ctx.grouped("changes", "implemented_at")


@register(
    "change_throughput",
    definition=(
        "Number of changes implemented in the period (by implemented_at); 0 for a team or "
        "service with implemented changes elsewhere in the window."
    ),
    unit="changes",
    direction="higher",
    indicator="leading",
    table="changes",
)
def change_throughput(ctx: MeasureContext) -> KpiRows:
    """Count delivery, the counterweight to reliability effort."""
    return implemented(ctx).count("change_throughput")


@register(
    "change_success_rate",
    definition="Share of changes implemented in the period (by implemented_at) that did not fail.",
    unit="share",
    direction="higher",
    indicator="leading",
    table="changes",
)
def change_success_rate(ctx: MeasureContext) -> KpiRows:
    """Measure change care: failed changes are the commonest internal cause of incidents."""
    grouped = implemented(ctx)
    return grouped.aggregate("change_success_rate", ~grouped.rows["failed"], "mean")


@register(
    "emergency_share",
    definition=(
        "Share of changes implemented in the period (by implemented_at) that were emergency "
        "changes."
    ),
    unit="share",
    direction="lower",
    indicator="leading",
    table="changes",
)
def emergency_share(ctx: MeasureContext) -> KpiRows:
    """Watch emergency changes, which skip the CAB and so invite abuse."""
    grouped = implemented(ctx)
    return grouped.aggregate("emergency_share", grouped.rows["type"] == "emergency", "mean")


@register(
    "unauthorized_count",
    definition=(
        "Number of unauthorized changes implemented in the period (by implemented_at); 0 for a "
        "team or service with implemented changes elsewhere in the window."
    ),
    unit="changes",
    direction="lower",
    indicator="leading",
    table="changes",
)
def unauthorized_count(ctx: MeasureContext) -> KpiRows:
    """Count changes made outside change control altogether."""
    grouped = implemented(ctx)
    return grouped.count("unauthorized_count", where=grouped.rows["type"] == "unauthorized")


@register(
    "change_caused_incidents",
    definition=(
        "Number of incidents linked to the changes implemented in the period (by the change's "
        "implemented_at), recorded for the change's team and opened by the end of the defect "
        "window (14 days after implementation unless a plan sets it), counted for the change's "
        "team and service; 0 for a team or service with implemented changes elsewhere in the "
        "window."
    ),
    unit="incidents",
    direction="lower",
    indicator="lagging",
    table="changes",
)
def change_caused_incidents(ctx: MeasureContext) -> KpiRows:
    """Count post-implementation defects against the change that caused them, not the incident.

    Placing them by the change keeps speed and its defects in the same period, so that a plan
    can net one against the other (DORA's change-failure rate, the ITIL post-implementation
    review). Linked incidents are those carrying the change's id and recorded for its team, so
    that logs holding several teams' views of the same changes never mix them; an incident
    opened before the change's recorded implementation counts too, as a record whose change
    slipped (say, a counterfactual with longer lead times) still owes it.
    """
    grouped = implemented(ctx)
    changes = grouped.rows
    incidents = ctx.log.incidents
    linked = incidents["change_id"].notna().to_numpy(dtype=bool, copy=True)
    if "incidents" in ctx.where:
        linked &= ctx.where["incidents"]
    caused = pd.DataFrame(
        {
            "change_id": incidents["change_id"].to_numpy(dtype=object)[linked],
            "team_id": incidents["team_id"].to_numpy(dtype=object)[linked],
            "opened_at": incidents["opened_at"].to_numpy()[linked],
        }
    )
    made = pd.DataFrame(
        {
            "change_id": changes["change_id"].to_numpy(dtype=object),
            "team_id": changes["team_id"].to_numpy(dtype=object),
            "due": (
                changes["implemented_at"] + pd.Timedelta(days=ctx.defect_window_days)
            ).to_numpy(),
            "row": np.arange(len(changes)),
        }
    )
    pairs = made.merge(caused, on=["change_id", "team_id"])
    within = pairs.loc[pairs["opened_at"] < pairs["due"], "row"].to_numpy(dtype=np.int64)
    counts = np.bincount(within, minlength=len(changes)).astype(float)
    return grouped.total("change_caused_incidents", counts)


@register(
    "unjustified_emergency_count",
    definition=(
        "Number of emergency changes implemented in the period (by implemented_at) that carry "
        "no justification; 0 for a team or service with implemented changes elsewhere in the "
        "window."
    ),
    unit="changes",
    direction="lower",
    indicator="leading",
    table="changes",
)
def unjustified_emergency_count(ctx: MeasureContext) -> KpiRows:
    """Count the evidence of CAB skipping: a genuine emergency states what it restores."""
    grouped = implemented(ctx)
    rows = grouped.rows
    unjustified = (rows["type"] == "emergency") & rows["justification"].isna()
    return grouped.count("unjustified_emergency_count", where=unjustified)
