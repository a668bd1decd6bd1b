"""Attribution disputes on shared services: where the sharing rules disagree, and who settles it.

When several teams handle one service's incidents, a plan must say whose performance the
outcome is (``attribution``: ``owner``, ``equal``, ``contribution`` or ``shapley``, see
:mod:`toolkit.plans.attribution`). Each rule is defensible, and each pays the teams differently,
so a team that would earn more under another rule has a case to argue. :func:`attribution_disputes`
runs a plan on a scenario and scores the same record again under every rule: a team plan-period
whose award depends on the rule is a dispute the plan would face, with the money at stake (the
largest award under any rule minus the smallest) and the rules that favour and hurt the team.
:func:`route_disputes` sends each dispute up an escalation path by the money at stake (team
leads settle the small ones, a review board the middle, the CIO the largest).

Only the shared services can make the rules disagree: a team that shares nothing in a period is
scored on its own rows under every rule (:mod:`toolkit.plans.attribution`). The record is the
one the plan's own run produced, as it stands at the end of the horizon (so it can differ a
little from what was scored as each period closed); the rules change the scoring of it, not the
behaviour behind it. Awards are the score times what a full score is worth to the team in the
period (the ledger's ``period_value``, before pool and cap scaling).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import Scenario, load_scenario
from toolkit.config.plan import Plan
from toolkit.experiments.cache import run_key
from toolkit.experiments.derived import as_plan, variant
from toolkit.experiments.inputs import seed_list
from toolkit.plans.scoring import PlanScorer
from toolkit.run.loop import PlanLoop

RULES = ("owner", "equal", "contribution", "shapley")
ESCALATION = {"team leads": 0.0, "review board": 1_000.0, "CIO": 10_000.0}
AWARD_COLUMNS = ("seed", "period", "team_id", "rule", "score_pct", "award", "shared_services")
DISPUTE_COLUMNS = (
    "seed",
    "period",
    "team_id",
    "shared_services",
    *(f"award_{rule}" for rule in RULES),
    "at_stake",
    "favoured_by",
    "hurt_by",
)


def _closest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def with_supporting_teams(
    scenario: str | Path | Scenario, supporting: Mapping[str, Sequence[str]]
) -> Scenario:
    """Return the scenario with further teams handling some services' incidents.

    A service with supporting teams is shared: each of its incidents goes to the owner or a
    supporting team with equal chance, which is what makes attribution rules matter.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A scenario file or a loaded scenario.
    supporting : mapping
        Service id → ids of the teams that also handle it (added to any it already has).

    Returns
    -------
    Scenario
        The scenario, validated again.

    Raises
    ------
    ValueError
        For an unknown service or team (naming the closest id) or a team named as supporting
        the service it owns.

    Examples
    --------
    >>> shared = with_supporting_teams("scenarios/small.yaml", {"payments": ["platform"]})
    ... # doctest: +SKIP
    """
    model = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    data = model.model_dump(mode="python")
    services = {s["id"]: s for s in data["organisation"]["services"]}
    teams = [t["id"] for t in data["organisation"]["teams"]]
    for service_id, extra in supporting.items():
        if service_id not in services:
            raise ValueError(
                f"scenario {model.name!r} has no service {service_id!r}"
                f"{_closest(service_id, services)} (services: {sorted(services)})"
            )
        service = services[service_id]
        for team in extra:
            if team not in teams:
                raise ValueError(
                    f"scenario {model.name!r} has no team {team!r}{_closest(team, teams)} "
                    f"(teams: {teams})"
                )
            if team == service["owning_team"]:
                raise ValueError(f"team {team!r} owns {service_id!r}; it cannot also support it")
            if team not in service["supporting_teams"]:
                service["supporting_teams"].append(team)
    return Scenario.model_validate(data)


def suggested_sharing(scenario: str | Path | Scenario, count: int = 2) -> dict[str, list[str]]:
    """Return services to share on any scenario: its most critical ones, helped by each other.

    Disputes need services whose incidents several teams handle; a study that names none takes
    the ``count`` most critical services (the first listed among equals) owned by different
    teams, and lets each one's owner help with the next one's incidents, so the teams share in
    both directions as teams that cover for each other do.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A scenario file or a loaded scenario.
    count : int
        How many services to share (fewer when fewer teams own services).

    Returns
    -------
    dict
        Service id → the one team that also handles it, ready for :func:`with_supporting_teams`;
        empty when only one team owns services (nothing can be shared, so nothing is disputed).

    Raises
    ------
    ValueError
        When ``count`` is below 1.

    Examples
    --------
    >>> suggested_sharing("scenarios/small.yaml")  # doctest: +SKIP
    {'core-banking': ['platform'], 'k8s': ['apps']}
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    model = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    chosen: dict[str, str] = {}  # owner → service, most critical first
    for service in sorted(model.organisation.services, key=lambda s: s.criticality):
        if service.owning_team not in chosen and len(chosen) < count:
            chosen[service.owning_team] = service.id
    if len(chosen) < 2:
        return {}
    owners = list(chosen)
    return {chosen[owner]: [owners[(i + 1) % len(owners)]] for i, owner in enumerate(owners)}


def rule_plans(plan: str | Path | Plan, rules: Sequence[str] = RULES) -> dict[str, Plan]:
    """Return the plan under each attribution rule, everything else unchanged.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan.
    rules : sequence of str
        Attribution rules, from :data:`RULES`.

    Returns
    -------
    dict
        Rule → the plan under it (the plan itself for its own rule).

    Raises
    ------
    ValueError
        For fewer than two rules, a rule listed twice or unknown (naming the closest), or a
        rule the plan cannot take (e.g. a metric normalised by expected volume, which works
        under ``owner`` only).
    """
    rules = list(rules)
    for rule in rules:
        if rule not in RULES:
            raise ValueError(f"unknown attribution rule {rule!r}{_closest(rule, RULES)} ({RULES})")
    if len(set(rules)) < len(rules):
        raise ValueError(f"attribution rules listed more than once: {rules}")
    if len(rules) < 2:
        raise ValueError("give at least two attribution rules: a dispute needs rules to differ")
    base = as_plan(plan)
    return {
        rule: base
        if rule == base.attribution
        else variant(
            base, f"{base.name}_{rule}", f"{base.name} under attribution {rule}", attribution=rule
        )
        for rule in rules
    }


def _shared_services(log, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, str]:
    """Map each team to the comma-joined services it shared with another team in a period."""
    incidents = log.incidents
    opened = incidents[(incidents["opened_at"] >= start) & (incidents["opened_at"] < end)]
    teams_on = opened.groupby("service_id")["team_id"].nunique()
    shared = opened[opened["service_id"].isin(teams_on[teams_on > 1].index)]
    return {
        team: ",".join(sorted(group["service_id"].unique()))
        for team, group in shared.groupby("team_id")
    }


def rule_awards(scenario: Scenario, plan: Plan, seed: int, rules: Sequence[str] = RULES):
    """Run the plan for one seed and score its record under every rule, period by period.

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    plan : Plan
        The plan that runs (its own attribution drives the teams' behaviour).
    seed : int
        The seed.
    rules : sequence of str
        The rules the record is scored under.

    Returns
    -------
    DataFrame
        One row per plan period, team and rule: :data:`AWARD_COLUMNS`; ``award`` is the score
        times the period's value of a full score to the team, ``shared_services`` the services
        the team handled with another team in the period (empty if none).
    """
    plans = rule_plans(plan, rules)
    run = PlanLoop(scenario, plan, seed)
    result = run.run()
    log, periods = result.reported, run.periods.reset_index(drop=True)
    rows = []
    for rule, ruled in plans.items():
        scorer = PlanScorer(ruled, log.services, periods)
        for k in range(len(periods)):
            scores = scorer.commit(log, k)
            if k < ruled.start_after_periods:
                continue
            bounds = periods.iloc[k]
            shared = _shared_services(log, bounds["start"], bounds["end"])
            for team, score in scores.teams.set_index("team_id")["score_pct"].items():
                rows.append(
                    {
                        "seed": seed,
                        "period": bounds["label"],
                        "team_id": team,
                        "rule": rule,
                        "score_pct": float(score),
                        "award": float(score) / 100 * result.ledger.period_value(team, k),
                        "shared_services": shared.get(team, ""),
                    }
                )
    return pd.DataFrame(rows, columns=list(AWARD_COLUMNS))


def _cached_awards(
    scenario: Scenario, plan: Plan, seed: int, rules: Sequence[str], out: Path | None
) -> pd.DataFrame:
    """Return :func:`rule_awards`, read from ``out`` when the same inputs and code made it."""
    if out is None:
        return rule_awards(scenario, plan, seed, rules)
    key = hashlib.sha256(f"{run_key(scenario, plan, seed)}/{','.join(rules)}".encode())
    path = out / f"awards_{seed}_{key.hexdigest()[:16]}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    awards = rule_awards(scenario, plan, seed, rules)
    out.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial")
    awards.to_parquet(staging, index=False)
    staging.replace(path)
    return awards


def attribution_disputes(
    scenario: str | Path | Scenario,
    plan: str | Path | Plan,
    seeds: int | Iterable[int],
    out: str | Path | None = None,
    rules: Sequence[str] = RULES,
    tolerance: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Find the team plan-periods whose award depends on the attribution rule, with the money.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A scenario file or a loaded scenario (:func:`with_supporting_teams` shares services).
    plan : str, Path or Plan
        The plan that runs.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds.
    out : path, optional
        A directory where each seed's awards under every rule are kept and reused when the
        scenario, plan, seed, rules and code are the same; nothing is kept by default.
    rules : sequence of str
        The attribution rules compared (default all four).
    tolerance : float
        The least money at stake that counts as a dispute (smaller differences are rounding).

    Returns
    -------
    DataFrame
        The disputes, one row per seed, plan period and team whose awards under the rules differ
        by more than ``tolerance``: :data:`DISPUTE_COLUMNS` (``award_<rule>`` for the rules
        compared), ``at_stake`` (largest award minus smallest), ``favoured_by`` and ``hurt_by``
        (the rules giving the largest and the smallest award). Sorted by ``at_stake``, largest
        first.
    DataFrame
        Every award: one row per seed, plan period, team and rule (:func:`rule_awards`).

    Raises
    ------
    ValueError
        As for :func:`rule_plans`, or a negative ``tolerance``.
    BatchError
        For invalid seeds.

    Examples
    --------
    >>> shared = with_supporting_teams("scenarios/small.yaml", {"payments": ["platform"]})
    ... # doctest: +SKIP
    >>> disputes, awards = attribution_disputes(shared, "mttr_only", 2)  # doctest: +SKIP
    """
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance is an amount of money, 0 or more, not {tolerance!r}")
    model = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    base = as_plan(plan)
    rules = list(rules)
    rule_plans(base, rules)  # refuse bad rules before anything runs
    directory = None if out is None else Path(out)
    awards = pd.concat(
        [_cached_awards(model, base, seed, rules, directory) for seed in seed_list(seeds)],
        ignore_index=True,
    )
    return dispute_table(awards, rules, tolerance), awards


def dispute_table(
    awards: pd.DataFrame, rules: Sequence[str] = RULES, tolerance: float = 1.0
) -> pd.DataFrame:
    """Turn awards under several rules into the disputes: where they differ, by how much.

    Parameters
    ----------
    awards : DataFrame
        ``seed, period, team_id, rule, award, shared_services`` (:func:`rule_awards`).
    rules : sequence of str
        The rules, in the order of the ``award_<rule>`` columns.
    tolerance : float
        The least money at stake that counts as a dispute.

    Returns
    -------
    DataFrame
        As the first table of :func:`attribution_disputes`.
    """
    keys = ["seed", "period", "team_id"]
    wide = awards.pivot_table(index=keys, columns="rule", values="award", aggfunc="first")
    wide = wide.reindex(columns=list(rules))
    shared = awards.groupby(keys)["shared_services"].first()
    table = pd.DataFrame(
        {
            "shared_services": shared.reindex(wide.index),
            **{f"award_{rule}": wide[rule] for rule in rules},
            "at_stake": wide.max(axis=1) - wide.min(axis=1),
            "favoured_by": wide.idxmax(axis=1),
            "hurt_by": wide.idxmin(axis=1),
        }
    ).reset_index()
    table = table[table["at_stake"] > tolerance]
    return table.sort_values(["at_stake", *keys], ascending=[False, True, True, True]).reset_index(
        drop=True
    )


def _check_levels(levels: Mapping[str, float]) -> list[tuple[str, float]]:
    """Return the escalation levels in order of their thresholds, refusing a bad path."""
    if not levels:
        raise ValueError("give at least one escalation level with its threshold")
    ordered = list(levels.items())
    for name, threshold in ordered:
        if not (isinstance(threshold, int | float) and np.isfinite(threshold) and threshold >= 0):
            raise ValueError(
                f"escalation level {name!r}: a threshold is an amount of money, 0 or more, "
                f"not {threshold!r}"
            )
    if ordered[0][1] != 0:
        raise ValueError(
            f"the first escalation level ({ordered[0][0]!r}) must start at 0, so that every "
            "dispute has somewhere to go"
        )
    thresholds = [t for _, t in ordered]
    if thresholds != sorted(thresholds) or len(set(thresholds)) < len(thresholds):
        raise ValueError(
            f"escalation thresholds must rise from level to level, lowest first: {dict(ordered)}"
        )
    return ordered


def route_disputes(
    disputes: pd.DataFrame, levels: Mapping[str, float] = ESCALATION
) -> pd.DataFrame:
    """Send each dispute to the highest escalation level whose threshold its stake reaches.

    Parameters
    ----------
    disputes : DataFrame
        With ``at_stake`` (:func:`attribution_disputes`).
    levels : mapping
        Level → the least money at stake it handles, in escalation order, the first at 0 and
        the thresholds rising (default: team leads agree below 1,000, a review board up to
        10,000, the CIO above).

    Returns
    -------
    DataFrame
        ``disputes`` with ``level``.

    Raises
    ------
    ValueError
        For an empty path, a threshold that is negative, not finite or not above the one
        before it, or a first level that does not start at 0.
    """
    ordered = _check_levels(levels)
    names = [name for name, _ in ordered]
    bounds = np.array([t for _, t in ordered])
    position = np.searchsorted(bounds, disputes["at_stake"].to_numpy(dtype=float), side="right")
    return disputes.assign(level=[names[i - 1] for i in position])


def routing_summary(routed: pd.DataFrame, levels: Mapping[str, float] = ESCALATION):
    """Count the disputes and their money per escalation level, per seed on average.

    Parameters
    ----------
    routed : DataFrame
        :func:`route_disputes`'s table.
    levels : mapping
        The escalation path it was routed on.

    Returns
    -------
    DataFrame
        One row per level in escalation order: ``level``, ``threshold``, ``disputes`` and
        ``money_at_stake`` (totals over the seeds), ``disputes_per_seed``,
        ``largest_at_stake`` (0 where the level has none).
    """
    ordered = _check_levels(levels)
    seeds = max(1, routed["seed"].nunique()) if len(routed) else 1
    rows = []
    for name, threshold in ordered:
        mine = routed[routed["level"] == name]
        rows.append(
            {
                "level": name,
                "threshold": float(threshold),
                "disputes": len(mine),
                "disputes_per_seed": len(mine) / seeds,
                "money_at_stake": float(mine["at_stake"].sum()),
                "largest_at_stake": float(mine["at_stake"].max()) if len(mine) else 0.0,
            }
        )
    return pd.DataFrame(rows)


def rule_totals(awards: pd.DataFrame) -> pd.DataFrame:
    """Total awards per rule and team, mean over seeds: who earns what under each rule.

    Parameters
    ----------
    awards : DataFrame
        :func:`rule_awards`'s table (for one or more seeds).

    Returns
    -------
    DataFrame
        One row per team, one column per rule (in the order they appear), the mean over seeds
        of the team's plan-period awards.
    """
    rules = list(dict.fromkeys(awards["rule"]))
    per_seed = awards.groupby(["seed", "team_id", "rule"])["award"].sum()
    table = per_seed.groupby(["team_id", "rule"]).mean().unstack("rule")
    return table.reindex(columns=rules).reset_index().rename_axis(columns=None)
