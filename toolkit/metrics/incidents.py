"""Incident KPIs: restoration speed and quality by resolution, intake mix by opening."""

from __future__ import annotations

import pandas as pd

from toolkit.events.schema import PRIORITIES
from toolkit.metrics.context import Grouped, KpiRows, MeasureContext
from toolkit.metrics.registry import register

LOWEST_PRIORITY = max(PRIORITIES)
HOUR = pd.Timedelta(1, "h")


def _per_priority(name: str) -> tuple[str, ...]:
    return tuple(f"{name}_p{priority}" for priority in PRIORITIES)


def resolved(ctx: MeasureContext) -> Grouped:
    """Place incidents in the period in which they were resolved (unresolved ones left out)."""
    return ctx.grouped("incidents", "resolved_at")


def opened(ctx: MeasureContext) -> Grouped:
    """Place incidents in the period in which they were opened."""
    return ctx.grouped("incidents", "opened_at")


def resolution_hours(incidents: pd.DataFrame) -> pd.Series:
    """Return the hours each incident was open and not on hold, never below zero.

    Parameters
    ----------
    incidents : DataFrame
        Incident rows with ``opened_at``, ``resolved_at`` and ``on_hold_hours``.

    Returns
    -------
    Series of float
        ``resolved_at - opened_at - on_hold_hours`` in hours; missing where unresolved. The clip
        at zero only guards against exports whose on-hold time exceeds the ticket's lifetime.
    """
    elapsed = (incidents["resolved_at"] - incidents["opened_at"]) / HOUR
    return (elapsed - incidents["on_hold_hours"]).clip(lower=0)


def _by_priority(ctx: MeasureContext, name: str, how: str) -> KpiRows:
    """Aggregate resolution hours overall and per (final) priority as ``<name>_p<priority>``."""
    grouped = resolved(ctx)
    hours = resolution_hours(grouped.rows)
    parts = [grouped.aggregate(name, hours, how)] if ctx.wants(name) else []
    for priority, variant in zip(PRIORITIES, _per_priority(name), strict=True):
        if not ctx.wants(variant):
            continue
        parts.append(
            grouped.aggregate(variant, hours, how, where=grouped.rows["priority"] == priority)
        )
    return KpiRows.concat(parts)


@register(
    "mttr_mean_hours",
    definition=(
        "Mean hours from opening to resolution less on-hold time, over incidents resolved in "
        "the period (by resolved_at); also per final priority as mttr_mean_hours_p1 .. _p4."
    ),
    unit="hours",
    direction="lower",
    indicator="lagging",
    table="incidents",
    variants=_per_priority("mttr_mean_hours"),
)
def mttr_mean_hours(ctx: MeasureContext) -> KpiRows:
    """Average time to restore, overall and per priority."""
    return _by_priority(ctx, "mttr_mean_hours", "mean")


@register(
    "mttr_median_hours",
    definition=(
        "Median hours from opening to resolution less on-hold time, over incidents resolved in "
        "the period (by resolved_at); also per final priority as mttr_median_hours_p1 .. _p4."
    ),
    unit="hours",
    direction="lower",
    indicator="lagging",
    table="incidents",
    variants=_per_priority("mttr_median_hours"),
)
def mttr_median_hours(ctx: MeasureContext) -> KpiRows:
    """Take the median time to restore, robust to a few very long tickets."""
    return _by_priority(ctx, "mttr_median_hours", "median")


@register(
    "sla_attainment",
    definition=(
        "Share of incidents resolved in the period (by resolved_at) whose resolution hours less "
        "on-hold time are within sla_target_hours times one plus the SLA tolerance."
    ),
    unit="share",
    direction="higher",
    indicator="lagging",
    table="incidents",
)
def sla_attainment(ctx: MeasureContext) -> KpiRows:
    """Recompute attainment from times, so a tolerance band and gamed clocks both show."""
    grouped = resolved(ctx)
    limit = grouped.rows["sla_target_hours"] * (1 + ctx.sla_tolerance)
    met = resolution_hours(grouped.rows) <= limit
    return grouped.aggregate("sla_attainment", met, "mean")


@register(
    "reopen_rate",
    definition=(
        "Share of incidents resolved in the period (by resolved_at) that were reopened at "
        "least once."
    ),
    unit="share",
    direction="lower",
    indicator="lagging",
    table="incidents",
)
def reopen_rate(ctx: MeasureContext) -> KpiRows:
    """Count reopens, which betray premature closure."""
    grouped = resolved(ctx)
    return grouped.aggregate("reopen_rate", grouped.rows["reopen_count"] > 0, "mean")


@register(
    "reassignment_mean",
    definition=(
        "Mean number of reassignments between groups of incidents resolved in the period "
        "(by resolved_at)."
    ),
    unit="reassignments",
    direction="lower",
    indicator="leading",
    table="incidents",
)
def reassignment_mean(ctx: MeasureContext) -> KpiRows:
    """Average reassignments: ping-pong between groups foreshadows slow restoration."""
    grouped = resolved(ctx)
    return grouped.aggregate("reassignment_mean", grouped.rows["reassignment_count"], "mean")


@register(
    "on_hold_share",
    definition=(
        "Share of incidents resolved in the period (by resolved_at) that spent any time on hold."
    ),
    unit="share",
    direction="lower",
    indicator="leading",
    table="incidents",
)
def on_hold_share(ctx: MeasureContext) -> KpiRows:
    """Watch paused tickets: a rising share is the trace of stop-the-clock gaming."""
    grouped = resolved(ctx)
    return grouped.aggregate("on_hold_share", grouped.rows["on_hold_hours"] > 0, "mean")


@register(
    "csat_mean",
    definition=(
        "Mean customer satisfaction score of incidents resolved in the period (by resolved_at) "
        "that have one."
    ),
    unit="score",
    direction="higher",
    indicator="lagging",
    table="incidents",
)
def csat_mean(ctx: MeasureContext) -> KpiRows:
    """Average customers' own verdict; unsurveyed incidents are skipped, not scored as zero."""
    grouped = resolved(ctx)
    return grouped.aggregate("csat_mean", grouped.rows["csat"], "mean")


@register(
    "priority_change_rate",
    definition=(
        "Share of incidents opened in the period (by opened_at) whose final priority differs "
        "from the priority first given."
    ),
    unit="share",
    direction="lower",
    indicator="leading",
    table="incidents",
)
def priority_change_rate(ctx: MeasureContext) -> KpiRows:
    """Watch re-prioritisation, where priority downgrade gaming leaves its trace."""
    grouped = opened(ctx)
    changed = grouped.rows["priority"] != grouped.rows["priority_initial"]
    return grouped.aggregate("priority_change_rate", changed, "mean")


@register(
    "minor_incident_share",
    definition=(
        "Share of incidents opened in the period (by opened_at) at the lowest priority (4); "
        "lower is better because ticket splitting and priority downgrades inflate it."
    ),
    unit="share",
    direction="lower",
    indicator="leading",
    table="incidents",
)
def minor_incident_share(ctx: MeasureContext) -> KpiRows:
    """Measure the intake mix by severity."""
    grouped = opened(ctx)
    minor = grouped.rows["priority"] == LOWEST_PRIORITY
    return grouped.aggregate("minor_incident_share", minor, "mean")


@register(
    "incident_volume",
    definition=(
        "Number of incidents opened in the period (by opened_at); 0 for a team or service with "
        "incidents elsewhere in the window."
    ),
    unit="incidents",
    direction="lower",
    indicator="lagging",
    table="incidents",
)
def incident_volume(ctx: MeasureContext) -> KpiRows:
    """Count how much broke (or was recorded as broken)."""
    return opened(ctx).count("incident_volume")
