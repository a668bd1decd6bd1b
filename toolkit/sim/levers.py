"""The levers a team pulls that change what really happens in the world."""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.config.scenario import LeverEffects


@dataclass(frozen=True)
class WorldLevers:
    """A team's operational choices and the gaming that changes the truth.

    Parameters
    ----------
    reliability_effort : float
        Share of capacity on reliability work; lowers incident rates after a lag and
        takes time from delivery (fewer changes).
    change_rate : float
        Multiplier on the change requests the team makes (1 = its natural pace).
    change_care : float
        0..1: more testing and review; fewer failed changes, longer lead times.
    cherry_picking : float
        0..1: within a priority, short tickets are taken before long ones.
    emergency_abuse : float
        0..1: share of normal changes pushed through as emergencies to skip CAB.
    diligence : float
        0..1 above the team's own standard (0): faster diagnosis and fixes that stop
        recurrence, paid for in the team's own effort rather than in capacity.
    """

    reliability_effort: float
    change_rate: float = 1.0
    change_care: float = 0.0
    cherry_picking: float = 0.0
    emergency_abuse: float = 0.0
    diligence: float = 0.0


def natural_levers(effects: LeverEffects) -> WorldLevers:
    """Return the levers of a team that no plan has touched."""
    return WorldLevers(
        reliability_effort=effects.baseline_reliability_effort,
        change_care=effects.baseline_change_care,
    )


def care_factors(effects: LeverEffects, care):
    """Return the (failure, lead time, pace) multipliers of a care level, against the baseline.

    Works on floats and numpy arrays alike, so the world and the teams' expectations share it.
    """
    extra = care - effects.baseline_change_care
    return (
        1 - effects.care_failure_reduction * extra,
        1 + effects.care_lead_time_increase * extra,
        1 - effects.care_pace_effect * extra,
    )


def change_pace(effects: LeverEffects, change_rate, reliability_effort, change_care):
    """Return the change request rate relative to the natural one.

    Reliability work takes time from delivery; care takes time per change; the change-rate
    lever scales what is left. Floats or numpy arrays.
    """
    natural = effects.baseline_reliability_effort
    _, _, pace = care_factors(effects, change_care)
    return change_rate * (1 - reliability_effort) / (1 - natural) * pace


def diligence_factors(effects: LeverEffects, diligence):
    """Return the (hands-on work, internal incident rate) multipliers of a diligence level.

    Works on floats and numpy arrays alike, so the world and the teams' expectations share it.
    """
    return (
        1 - effects.diligence_work_reduction * diligence,
        1 - effects.diligence_recurrence_reduction * diligence,
    )
