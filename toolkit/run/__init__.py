"""One run of the loop (world, reporting, plan, money, behaviour), written to disk."""

from toolkit.run.loop import PlanLoop, PlanRun, run_plan
from toolkit.run.simulation import RunResult, run_scenario

__all__ = ["PlanLoop", "PlanRun", "RunResult", "run_plan", "run_scenario"]
