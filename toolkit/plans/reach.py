"""Improvements a share can reach on a scenario: thresholds that can never pay a team.

A share lies in 0..1, so a metric scored on its improvement over a baseline ``b`` cannot rise
further than the share's ceiling: a higher-is-better share improves by at most ``(1 - b) / b``
(``b (1 + x) <= 1``), unboundedly from ``b = 0``; a lower-is-better share improves by at most 1
(down to zero; :func:`toolkit.plans.loading.check_plan` refuses more on any scenario), and by
nothing from ``b = 0``. The baseline is the scenario's own: the pre-plan periods of the world
alone (natural levers, nobody responding to the plan yet) are simulated and measured by the
plan's own scorer, so exclusions, SLA tolerance and views are those the run applies.

What is refused: a threshold (a linear curve's ``threshold``, a bracket curve's first bracket)
beyond the reach of a team, since the metric then never pays that team. A target or maximum
beyond reach only means the curve stops paying more earlier than its author drew it; that is a
design choice (a stretch target), so it passes.

The check is sound only for baselines that cannot fall below the pre-plan one: ``fixed`` (the
pre-plan mean) and ``ratchet`` (which only ever gets harder). A ``rolling`` baseline falls after
bad periods, after which any improvement can be reached, so it is not checked. Baselines differ
by seed, so they are measured on several seeds (:data:`REACH_SEEDS`) and a team is refused only
where no seed's baseline lets it reach the threshold; a team with no baseline on any seed (no
data) is skipped rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.config.errors import Problem
from toolkit.config.plan import BracketCurve, Metric, Plan
from toolkit.config.scenario import Scenario
from toolkit.events import EventLog
from toolkit.metrics import KPI
from toolkit.plans.attribution import SEP
from toolkit.plans.loading import PERIODS_PER_YEAR, check_plan, kpi_by_name
from toolkit.plans.scoring import PlanScorer
from toolkit.sim import World
from toolkit.sim.levers import natural_levers

# Batches run seeds 0, 1, ...; a run alone runs the scenario's seed. Each seed's pre-plan
# periods cost a fraction of a second on the shipped scenarios.
REACH_SEEDS = (0, 1, 2, 3)
CHECKED_POLICIES = frozenset({"fixed", "ratchet"})
_PRE_PLAN: dict[tuple[str, int, int], tuple[EventLog, pd.DataFrame]] = {}
_REACH: dict[tuple, list[list[Reach]]] = {}


@dataclass(frozen=True)
class Reach:
    """How far one team's share can improve, from the baselines measured on several seeds."""

    team_id: str
    baseline: float  # the baseline that lets it go furthest
    most: float  # the largest improvement that baseline allows


def reach_seeds(scenario: Scenario) -> list[int]:
    """Return the seeds whose baselines are measured: the scenario's own and :data:`REACH_SEEDS`."""
    return sorted({scenario.seed, *REACH_SEEDS})


def pre_plan_log(scenario: Scenario, seed: int, periods: int) -> tuple[EventLog, pd.DataFrame]:
    """Simulate the world alone over the first ``periods`` periods; cached per fingerprint.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    seed : int
        The world's seed.
    periods : int
        Periods to simulate (a plan's ``start_after_periods``), at most the horizon's.

    Returns
    -------
    tuple of EventLog and DataFrame
        The true log so far and the horizon's periods (``label, start, end``).
    """
    key = (scenario.fingerprint(), seed, periods)
    if key not in _PRE_PLAN:
        world = World(scenario, seed)
        natural = natural_levers(scenario.environment.behaviour.levers)
        for k in range(periods):
            world.begin_period({team.id: natural for team in scenario.organisation.teams})
            world.advance(world.edges[k])
        _PRE_PLAN[key] = (world.event_log(), world.periods[["label", "start", "end"]])
    return _PRE_PLAN[key]


def _checked(metric: Metric, kpi: KPI) -> bool:
    return (
        metric.basis == "improvement"
        and kpi.unit == "share"
        and metric.baseline.policy in CHECKED_POLICIES
    )


def _most(baseline: np.ndarray, direction: str) -> np.ndarray:
    """Return the largest improvement each baseline of a share allows (missing stays missing)."""
    b = np.asarray(baseline, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.where(b > 0, (1.0 - b) / b, np.inf)
    most = rise if direction == "higher" else np.where(b > 0, 1.0, 0.0)
    return np.where(np.isnan(b), np.nan, most)


def _threshold(metric: Metric) -> tuple[str, float]:
    """Return the key path (below the metric) and level of the improvement that first pays."""
    curve = metric.curve
    if isinstance(curve, BracketCurve):
        return "curve.brackets[0].level", curve.brackets[0].level
    return "curve.threshold.level", curve.threshold.level


def _team_baselines(scorer: PlanScorer, index: int, metric: Metric, plan: Plan) -> pd.Series:
    """Return, by team, the baselines whose reach bounds what metric ``index`` can pay it.

    Under ``service_baseline`` each (team, service) pair is scored against its own baseline and
    a team's basis is an average of its pairs, so its best pair bounds it. Under a sharing
    attribution a team is also credited with coalitions on services, scored against the
    services' baselines, so the best service bounds every team too.
    """
    if metric.normalisation == "service_baseline":
        pairs = scorer.baselines(index, "pair")
        teams = [str(key).split(SEP)[0] for key in pairs.index]
        return pd.Series(pairs.to_numpy(dtype=float), index=pd.Index(teams, dtype=object))
    teams = scorer.baselines(index, "team")
    if plan.attribution == "owner":
        return teams
    services = scorer.baselines(index, "service").to_numpy(dtype=float)
    extra = [pd.Series(services, index=[t] * len(services)) for t in teams.index]
    return pd.concat([teams, *extra])


def share_reach(
    plan: Plan, scenario: Scenario, seeds: Iterable[int] | None = None
) -> dict[int, list[Reach]]:
    """Measure how far each team can improve each share metric of ``plan`` on ``scenario``.

    Parameters
    ----------
    plan : Plan
        A plan that passed :func:`toolkit.plans.loading.check_plan`.
    scenario : Scenario
        The scenario; its world's pre-plan periods are simulated once per seed in a process,
        and measured once per set of metrics that read them alike (KPI, exclusions, tolerance,
        normalisation, baseline, attribution), so an edit of a curve costs nothing here.
    seeds : iterable of int, optional
        The seeds measured; by default :func:`reach_seeds`.

    Returns
    -------
    dict
        Metric index → one :class:`Reach` per team with a baseline on some seed, for the
        metrics on a share with basis ``improvement`` and a fixed or ratchet baseline. Empty
        when there are none, without simulating anything.
    """
    known = kpi_by_name()
    checked = [i for i, m in enumerate(plan.metrics) if _checked(m, known[m.kpi])]
    start = plan.start_after_periods
    horizon = scenario.horizon
    if not checked or start >= horizon.years * PERIODS_PER_YEAR[horizon.period]:
        return {}
    seeds = reach_seeds(scenario) if seeds is None else list(seeds)
    # Only what the measurement and the baselines read: an edit of a curve measures nothing anew.
    key = (
        scenario.fingerprint(),
        tuple(seeds),
        start,
        plan.attribution,
        tuple(
            plan.metrics[i].model_dump_json(
                include={"kpi", "exclude_root_causes", "tolerance", "normalisation", "baseline"}
            )
            for i in checked
        ),
    )
    if key not in _REACH:
        _REACH[key] = _measure_reach(plan, checked, scenario, seeds)
    return dict(zip(checked, _REACH[key], strict=True))


def _measure_reach(
    plan: Plan, checked: list[int], scenario: Scenario, seeds: list[int]
) -> list[list[Reach]]:
    """Measure the reach of each metric in ``checked`` on the pre-plan periods of ``seeds``."""
    known = kpi_by_name()
    start = plan.start_after_periods
    probe = plan.model_copy(
        update={"metrics": [plan.metrics[i] for i in checked], "counter_metrics": [], "gates": []}
    )
    found: dict[int, list[pd.DataFrame]] = {i: [] for i in checked}
    for seed in seeds:
        log, periods = pre_plan_log(scenario, seed, start)
        scorer = PlanScorer(probe, log.services, periods)
        for k in range(start):
            scorer.commit(log, k)
        for j, i in enumerate(checked):
            metric = plan.metrics[i]
            base = _team_baselines(scorer, j, metric, plan).dropna()
            values = base.to_numpy(dtype=float)
            most = _most(values, known[metric.kpi].direction)
            found[i].append(pd.DataFrame({"baseline": values, "most": most}, index=base.index))
    out = []
    for parts in found.values():
        table = pd.concat(parts)
        best = table.sort_values("most", kind="stable").groupby(level=0).tail(1).sort_index()
        out.append([Reach(str(t), float(r.baseline), float(r.most)) for t, r in best.iterrows()])
    return out


def _percent(x: float) -> str:
    return "no limit" if np.isinf(x) else f"{x:+.1%}"


def unreachable_thresholds(plan: Plan, scenario: Scenario) -> list[Problem]:
    """Find share metrics whose threshold no team (or some team) can ever reach on ``scenario``.

    Parameters
    ----------
    plan : Plan
        A valid plan; one that fails :func:`toolkit.plans.loading.check_plan` gives no problems
        here (it is refused for those first).
    scenario : Scenario
        A valid scenario.

    Returns
    -------
    list of Problem
        One per metric, at its threshold's key path, naming the KPI, each team that cannot
        reach it with its measured baseline and the largest improvement that allows.
    """
    # No baseline of a share forbids an improvement of 0, so only positive thresholds can fail.
    if check_plan(plan) or all(_threshold(m)[1] <= 0 for m in plan.metrics):
        return []
    problems = []
    seeds = reach_seeds(scenario)
    for i, reaches in share_reach(plan, scenario).items():
        metric = plan.metrics[i]
        where, level = _threshold(metric)
        short = [r for r in reaches if level > r.most + 1e-12]
        if not short:
            continue
        teams = "; ".join(
            f"team {r.team_id} at {r.baseline:.3f} can improve by {_percent(r.most)} at most"
            for r in short
        )
        problems.append(
            Problem(
                f"metrics[{i}].{where}",
                f"{metric.kpi} is a share (at most 1), so it pays nothing below an improvement "
                f"of {level:+.1%}, which {len(short)} of {len(reaches)} teams can never reach on "
                f"scenario {scenario.name!r} ({teams}: pre-plan baseline, the most favourable "
                f"of seeds {seeds}); lower the threshold or score the level (basis: level)",
            )
        )
    return problems
