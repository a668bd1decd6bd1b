"""The SimPy world: an IT organisation whose run produces the true event log."""

from toolkit.sim.world import HOURS_PER_YEAR, World, simulate

__all__ = ["HOURS_PER_YEAR", "World", "simulate"]
