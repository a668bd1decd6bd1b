"""The levers a team pulls that change what really happens in the world."""

from __future__ import annotations

from dataclasses import dataclass


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
    """

    reliability_effort: float
    change_rate: float = 1.0
    change_care: float = 0.0
    cherry_picking: float = 0.0
    emergency_abuse: float = 0.0
