"""Cost of plans and behaviour against the world alone, in one process.

Run: ``python benchmarks/plans.py [SCENARIO] [--plan PLAN] [--repeats N]``. Times a full-horizon
run of the world alone and of the whole loop (world, reporting, scoring, money, adaptation) under
the plan, alternately and keeping the best of each, and prints two ratios: the loop against the
world, and the cost of plans and behaviour (the loop less the world) against the world, whose
goal is at most 2. The loop's table work is more sensitive than the world to a busy machine, so
on a shared one take the best of several repeats.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from toolkit.config import load_scenario
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.sim import World

ROOT = Path(__file__).resolve().parent.parent


def timed(run) -> float:
    """Wall time of one call, after collecting what earlier calls left behind.

    A run of the world leaves many objects in reference cycles; without the collection, the
    next timed call would pay for freeing them, whichever it is.
    """
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=ROOT / "scenarios" / "default.yaml")
    parser.add_argument("--plan", default="balanced_guarded")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan)
    world = loop = float("inf")
    for _ in range(args.repeats):  # alternate, so that a slow spell of the machine hits both
        world = min(world, timed(lambda: World(scenario, 1).run()))
        loop = min(loop, timed(lambda: PlanLoop(scenario, plan, 1).run()))
    print(f"scenario: {scenario.name}, plan: {plan.name}, {scenario.horizon.years} years")
    print(f"world alone:           {world:6.2f} s")
    print(f"world + plan + teams:  {loop:6.2f} s")
    print(f"loop / world: {loop / world:.2f}")
    print(f"plans and behaviour / world: {(loop - world) / world:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
