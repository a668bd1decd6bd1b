"""Engine throughput against a bare SimPy model with the same arrivals and queues.

Run: ``python benchmarks/engine.py [SCENARIO]``. Prints incidents per second for the
toolkit's world and for a bare model (Poisson arrivals per service, a priority queue per
team, a drawn work time, nothing else), their ratio, and the wall time of a full-horizon
run. Figures are ratios within one process, so they hold on any machine.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import simpy

from toolkit.config import load_scenario
from toolkit.sim import World, simulate
from toolkit.sim.world import _chooser, _work_sampler

ROOT = Path(__file__).resolve().parent.parent


def bare_model(scenario, years: float, seed: int) -> int:
    """Arrivals and queues only; returns the number of incidents opened."""
    env = simpy.Environment()
    cfg = scenario.environment.incidents
    queues = {t.id: simpy.PriorityResource(env, t.capacity) for t in scenario.organisation.teams}
    samplers = {p: _work_sampler(spec) for p, spec in cfg.work_time.items()}
    choose = _chooser(cfg.priority_mix)
    rates = World(scenario, seed)  # only for the rate formula
    opened = [0]

    def handle(queue, priority, work):
        with queue.request(priority=priority) as turn:
            yield turn
            yield env.timeout(work)

    def arrivals(service, rng):
        rate = rates.incident_rate_per_hour(service)
        queue = queues[service.owning_team]
        while True:
            yield env.timeout(rng.expovariate(rate))
            priority = choose(rng)
            opened[0] += 1
            env.process(handle(queue, priority, samplers[priority](rng)))

    for i, service in enumerate(scenario.organisation.services):
        env.process(arrivals(service, random.Random(seed * 1000 + i)))
    env.run(until=years * 8766)
    return opened[0]


def best_rate(run, repeats: int) -> tuple[float, int]:
    """Best incidents per second over repeats (the least disturbed measurement)."""
    best, count = 0.0, 0
    for _ in range(repeats):
        started = time.perf_counter()
        count = run()
        best = max(best, count / (time.perf_counter() - started))
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=ROOT / "scenarios" / "default.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    one_year = scenario.model_copy(
        update={"horizon": scenario.horizon.model_copy(update={"years": 1})}
    )
    world_rate, world_n = best_rate(lambda: len(simulate(one_year, 1).incidents), args.repeats)
    bare_rate, bare_n = best_rate(lambda: bare_model(scenario, 1, 1), args.repeats)
    started = time.perf_counter()
    full = simulate(scenario, 1)
    full_seconds = time.perf_counter() - started
    print(f"scenario: {scenario.name}")
    print(f"world, 1 year:   {world_n:>7,} incidents  {world_rate:>10,.0f} incidents/s")
    print(f"bare SimPy:      {bare_n:>7,} incidents  {bare_rate:>10,.0f} incidents/s")
    print(f"ratio world/bare: {world_rate / bare_rate:.2f} (goal >= 0.5)")
    print(
        f"full horizon ({scenario.horizon.years} years): {len(full.incidents):,} incidents "
        f"in {full_seconds:.2f} s (goal < 2 s)"
    )


if __name__ == "__main__":
    main()
