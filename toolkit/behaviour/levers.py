"""Every lever a team can pull: operational choices and gaming, with their bounds.

Operational levers and the gaming that changes the truth act in the world
(:class:`~toolkit.sim.levers.WorldLevers`); reporting levers act on the record
(:func:`toolkit.behaviour.reporting.report`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from toolkit.behaviour.reporting import REPORTING_LEVERS, WORLD_GAMING_LEVERS
from toolkit.config.scenario import LeverEffects
from toolkit.sim.levers import WorldLevers

OPERATIONAL_LEVERS = ("reliability_effort", "change_rate", "change_care", "diligence")
GAMING_LEVERS = REPORTING_LEVERS + WORLD_GAMING_LEVERS
ALL_LEVERS = OPERATIONAL_LEVERS + GAMING_LEVERS

BOUNDS: dict[str, tuple[float, float]] = {
    "reliability_effort": (0.0, 0.8),
    "change_rate": (0.3, 1.7),
    **{name: (0.0, 1.0) for name in ("change_care", "diligence", *GAMING_LEVERS)},
}


@dataclass(frozen=True)
class LeverSet:
    """The value of every lever for one team in one period.

    Parameters
    ----------
    values : mapping
        Lever name → value; missing levers take their natural value (see :meth:`natural`).
    """

    values: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def natural(cls, effects: LeverEffects) -> LeverSet:
        """Return the levers of a team that no plan has touched: no gaming, its usual ways."""
        values = dict.fromkeys(ALL_LEVERS, 0.0)
        values.update(
            reliability_effort=effects.baseline_reliability_effort,
            change_rate=1.0,
            change_care=effects.baseline_change_care,
        )
        return cls(values)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def moved(self, name: str, delta: float) -> LeverSet:
        """Return a copy with one lever moved by ``delta``, kept inside its bounds."""
        low, high = BOUNDS[name]
        values = dict(self.values)
        values[name] = round(min(high, max(low, values[name] + delta)), 10)
        return replace(self, values=values)

    def world(self) -> WorldLevers:
        """Return the levers the world acts on."""
        return WorldLevers(**{name: self.values[name] for name in WorldLevers.__annotations__})

    def reporting(self) -> dict[str, float]:
        """Return the intensities the reporting layer acts on."""
        return {name: self.values[name] for name in REPORTING_LEVERS}

    def gaming(self) -> float:
        """Return the summed intensity of all gaming levers (0 = honest)."""
        return sum(self.values[name] for name in GAMING_LEVERS)
