"""Cost of plans and behaviour against the world alone, in one process.

Run: ``python benchmarks/plans.py [SCENARIO] [--plan PLAN]``. Times a full-horizon run of the
world alone and of the whole loop (world, reporting, scoring, money, adaptation) under the plan,
and prints their ratio (goal: at most 2).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from toolkit.config import load_scenario
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.sim import World

ROOT = Path(__file__).resolve().parent.parent


def best_time(run, repeats: int) -> float:
    """Best wall time over repeats (the least disturbed measurement)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=ROOT / "scenarios" / "default.yaml")
    parser.add_argument("--plan", default="balanced_guarded")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan)
    world = best_time(lambda: World(scenario, 1).run(), args.repeats)
    loop = best_time(lambda: PlanLoop(scenario, plan, 1).run(), args.repeats)
    print(f"scenario: {scenario.name}, plan: {plan.name}, {scenario.horizon.years} years")
    print(f"world alone:           {world:6.2f} s")
    print(f"world + plan + teams:  {loop:6.2f} s")
    print(f"ratio: {loop / world:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
