"""Speed of the plan designer: validating an edit, and a quick comparison.

Run: ``python benchmarks/designer.py [SCENARIO] [--plan PLAN] [--workers N] [--repeats N]``.
Prints two figures the designer is meant to meet (issue 14):

* the time one edit takes to validate (pydantic model, plan cross-checks and the checks against
  the scenario, as ``lti validate --scenario``), the median over edits of several kinds of
  field, and the same through the widgets (a weight typed in, its message shown); the goal is
  under 200 ms;
* the wall time of a comparison of 3 plans (the edited plan, ``balanced`` and the reference
  ``no_incentive``) × 3 seeds on the scenario, from an empty cache and then again from the
  cache it filled; the goal is under 30 s on 2 cores.

Absolute times depend on the machine and how busy it is; the validation figure is also given
as a share of one full run of the loop measured in the same process, and the comparison's CPU
time (this process and its workers) is printed beside its wall time, so that a figure taken on
a shared, busy machine can be told from one the code itself would give on 2 idle cores.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from toolkit.run.loop import PlanLoop
from toolkit.widgets import Comparison, DesignerState, PlanDesigner

ROOT = Path(__file__).resolve().parent.parent
EDITS = (
    ("metrics[0].weight", (0.3, 0.35)),
    ("metrics[0].curve.target.level", (0.04, 0.05)),
    ("metrics[1].exclude_root_causes", (["vendor"], ["vendor", "external"])),
    ("cap.pct_of_personnel_cost", (30, 35)),
    ("vesting.deferral_share", (0.3, 0.4)),
    ("metrics[0].weight", (-1, 0.25)),  # an invalid edit, then back
)


def validation_seconds(state: DesignerState, repeats: int) -> list[float]:
    """Time each edit of :data:`EDITS` ``repeats`` times; return the seconds of each."""
    times = []
    for _ in range(repeats):
        for path, values in EDITS:
            for value in values:
                started = time.perf_counter()
                state.edit(path, value)
                times.append(time.perf_counter() - started)
    return times


def widget_seconds(workdir: Path, plan: str, scenario: str | Path, repeats: int) -> list[float]:
    """Time typing a weight into the designer's widget until its message is shown."""
    designer = PlanDesigner(scenario=scenario, plan=plan, workdir=workdir)
    times = []
    for i in range(repeats):
        for value in (-1.0, 0.2 + i / 1000):  # invalid (a message appears), then valid again
            started = time.perf_counter()
            designer.weights[0].value = value
            times.append(time.perf_counter() - started)
    return times


def cpu_seconds() -> float:
    """CPU time used so far by this process and its finished workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def comparison_seconds(
    state: DesignerState, workdir: Path, workers: int
) -> tuple[float, float, dict]:
    """Run the edited plan, ``balanced`` and ``no_incentive`` on seeds 1-3.

    Returns
    -------
    tuple
        Wall seconds, CPU seconds (this process and the workers) and the batch's stats.
    """
    path = state.save(workdir / "plans")
    comparison = Comparison(
        workdir,
        state.scenario_path,
        [path, "balanced"],
        seeds=(1, 2, 3),
        edited=state.plan.name,
        workers=workers,
    )
    started, cpu = time.perf_counter(), cpu_seconds()
    comparison.start()
    comparison.wait()
    elapsed = time.perf_counter() - started
    if comparison.status != "done":
        raise SystemExit(f"comparison {comparison.status}: {comparison.error}")
    return elapsed, cpu_seconds() - cpu, comparison.result.batch.stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=ROOT / "scenarios" / "small.yaml")
    parser.add_argument("--plan", default="careful")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    state = DesignerState(args.plan, args.scenario)
    times = validation_seconds(state, args.repeats)
    median = statistics.median(times)
    started = time.perf_counter()
    PlanLoop(state.scenario, state.plan, 1).run()
    one_run = time.perf_counter() - started
    print(
        f"validation of one edit: median {median * 1000:.2f} ms, max {max(times) * 1000:.2f} ms "
        f"over {len(times)} edits (goal < 200 ms); {median / one_run:.5f} of one run "
        f"({one_run:.2f} s)"
    )
    with tempfile.TemporaryDirectory(prefix="lti-designer-bench-") as workdir:
        typed = widget_seconds(Path(workdir), args.plan, args.scenario, args.repeats)
        print(
            f"a weight typed into the widgets, validated and its message shown: median "
            f"{statistics.median(typed) * 1000:.2f} ms, max {max(typed) * 1000:.2f} ms over "
            f"{len(typed)} edits (goal < 200 ms)"
        )
        cold, cold_cpu, stats = comparison_seconds(state, Path(workdir), args.workers)
        warm, _, cached = comparison_seconds(state, Path(workdir), args.workers)
    print(
        f"comparison of 3 plans x 3 seeds on {state.scenario.name} with {args.workers} workers: "
        f"{cold:.1f} s from an empty cache ({stats['computed']} runs computed; goal < 30 s), "
        f"using {cold_cpu:.1f} CPU s (at best {cold_cpu / args.workers:.1f} s on "
        f"{args.workers} idle cores); {warm:.1f} s again from the cache "
        f"({cached['cached']} runs cached)"
    )


if __name__ == "__main__":
    main()
