"""Change KPIs: delivery and change care, each placed in a period by implemented_at."""

from __future__ import annotations

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
