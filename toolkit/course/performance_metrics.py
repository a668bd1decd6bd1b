"""Module 2, designing performance metrics for service ownership: tables, paragraphs and checks.

Each topic of the module's notebook calls a toolkit capability (lead–lag analysis, expected
volumes, baseline policies, root-cause exclusions and the review, bunching, credit sharing);
the functions here gather the runs a section needs, write its paragraph from the numbers and
judge its exercise, so that the notebook itself holds no model code.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.config import Scenario, load_scenario
from toolkit.config.plan import Audit, Metric, Plan
from toolkit.course.catalogue import Module
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import interval_words, listing, number, share
from toolkit.events import EventLog
from toolkit.experiments.baseline_comparison import baseline_comparison, team_ages
from toolkit.experiments.derived import as_plan, variant, write_plan
from toolkit.experiments.executors import outcomes
from toolkit.metrics import catalogue_table
from toolkit.metrics.bunching import bunching_table, resolution_ratio
from toolkit.metrics.lead_lag import LeadLag
from toolkit.plans.scoring import score_log
from toolkit.report.review import review
from toolkit.resources import shipped_scenario
from toolkit.run.outputs import read_manifest
from toolkit.run.simulation import run_scenario
from toolkit.sim import World, simulate

SUPPLIER_CAUSES = ("vendor", "external")
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
MINOR_BREACH = 0.10  # a breach resolved within 10 % over its target is minor and transient


def scenario_path(scenario: str | Path) -> str:
    """Return the scenario file for a shipped scenario's name or a scenario file.

    Parameters
    ----------
    scenario : str or Path
        ``small`` (a shipped scenario) or a path holding ``/`` or ending in ``.yaml``.

    Returns
    -------
    str
        The file.

    Raises
    ------
    LookupError
        For a name no shipped scenario has, with the closest one.
    """
    text = str(scenario)
    if "/" in text or text.endswith((".yaml", ".yml")):
        return text
    return str(shipped_scenario(text))


# -- runs a section reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class WorldLogs:
    """The scenario's world simulated without a plan, one true log per seed, with its periods.

    Why: a rule of the plan grammar (normalisation, exclusion, tolerance, attribution) is best
    seen on fixed outcomes, so that every difference in the scores is the rule's.
    """

    scenario: Scenario
    seeds: tuple[int, ...]
    logs: tuple[EventLog, ...]
    periods: pd.DataFrame


def world_logs(scenario: str | Path | Scenario, seeds: int | Iterable[int]) -> WorldLogs:
    """Simulate the scenario's world under fixed pay for each seed.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A shipped scenario's name, a scenario file or a loaded scenario.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds.

    Returns
    -------
    WorldLogs
        The logs and the periods they are scored on.
    """
    model = scenario if isinstance(scenario, Scenario) else load_scenario(scenario_path(scenario))
    chosen = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    if not chosen:
        raise ValueError("give at least one seed")
    logs = tuple(simulate(model, seed=s) for s in chosen)
    return WorldLogs(model, chosen, logs, World(model, chosen[0]).periods)


def team_payouts(plan: Plan, world: WorldLogs) -> pd.DataFrame:
    """Score the world's logs under a plan; mean metric values and payouts per team and KPI.

    Parameters
    ----------
    plan : Plan
        The plan scored.
    world : WorldLogs
        The logs.

    Returns
    -------
    DataFrame
        ``team_id, kpi, value, scored_value, payout_pct``: means over the plan periods and seeds.
    """
    frames = []
    for log in world.logs:
        metrics = score_log(plan, log, world.periods).metrics
        frames.append(metrics[metrics["plan_period"]])
    table = pd.concat(frames, ignore_index=True)
    columns = ["value", "scored_value", "payout_pct"]
    return table.groupby(["team_id", "kpi"], as_index=False)[columns].mean()


def plan_runs(
    scenario: str | Path,
    plans: Sequence[str | Plan],
    seeds: int | Iterable[int],
    out: str | Path,
    workers: int = 1,
) -> Path:
    """Run plans on the scenario with their logs kept (as ``lti simulate`` does), reusing runs.

    Parameters
    ----------
    scenario : str or Path
        A shipped scenario's name or a scenario file.
    plans : sequence of str or Plan
        Library plan names or plans built in memory.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds.
    out : path
        Runs go to ``out/<plan>/seed=<k>``; a finished run of the same scenario, plan and seed
        found there is reused.
    workers : int
        Processes running the missing runs side by side (1: in this process).

    Returns
    -------
    Path
        ``out``, for :func:`toolkit.report.review.review` and :func:`run_logs`.

    Raises
    ------
    ValueError
        Before anything is written, for a plan whose name cannot be a directory inside ``out``.
    """
    path = scenario_path(scenario)
    model = load_scenario(path)
    out = Path(out)
    chosen = range(seeds) if isinstance(seeds, int) else seeds
    loaded = [as_plan(given) for given in plans]
    for plan in loaded:
        _plan_directory(out, plan.name)  # every name is checked before anything is written
    (out / "plans").mkdir(parents=True, exist_ok=True)
    missing = []
    for plan in loaded:
        source = write_plan(plan, out / "plans")
        for seed in chosen:
            directory = _plan_directory(out, plan.name) / f"seed={seed}"
            manifest = read_manifest(directory) or {}
            if (
                manifest.get("plan", {}).get("fingerprint") != plan.fingerprint()
                or manifest.get("scenario", {}).get("fingerprint") != model.fingerprint()
                or manifest.get("seed") != seed
            ):
                missing.append((path, seed, str(directory), str(source)))
    pool = max(1, min(workers, len(missing)))
    with closing(outcomes(_run, missing, str(out), "local", pool)) as finished:
        for spec, outcome in finished:
            if isinstance(outcome, BaseException):
                raise RuntimeError(f"the run {spec[2]} failed: {outcome}") from outcome
    return out


def _run(spec: tuple[str, int, str, str], out: str) -> dict:
    """Run one ``(scenario file, seed, directory, plan file)`` of :func:`plan_runs`."""
    path, seed, directory, source = spec
    run_scenario(path, seed, directory, plan=source, force=True)
    return {"directory": directory}


def run_logs(out: str | Path, plan: str) -> list[tuple[int, EventLog]]:
    """Return the reported logs of a plan's runs under ``out``.

    Parameters
    ----------
    out : path
        The directory :func:`plan_runs` wrote.
    plan : str
        The plan's name.

    Returns
    -------
    list of (int, EventLog)
        Seed and reported log of each run, by seed.

    Raises
    ------
    ValueError
        If the plan has no runs there, naming the plans that have.
    """
    runs = sorted(_plan_directory(Path(out), plan).glob("seed=*/reported/log.json"))
    if not runs:
        known = sorted(p.name for p in Path(out).iterdir() if p.is_dir() and p.name != "plans")
        raise ValueError(f"no runs of plan {plan!r} under {out}{_closest(plan, known)} ({known})")
    return [
        (int(p.parent.parent.name.split("=")[1]), EventLog.read_parquet(p.parent)) for p in runs
    ]


def _plan_directory(out: Path, name: str) -> Path:
    """Return ``out / name``, the directory of a plan's runs, if the name is one safe component.

    Runs are found again by the plan's name alone (:func:`run_logs`), so the name itself is the
    directory; a name holding ``/``, ``..`` or a leading dot would lead out of ``out``, and
    ``plans`` is where the plan files go.

    Parameters
    ----------
    out : Path
        The directory of :func:`plan_runs`.
    name : str
        The plan's name.

    Returns
    -------
    Path
        ``out / name``.

    Raises
    ------
    ValueError
        If ``name`` is not letters, digits, ``_``, ``.`` and ``-`` (no leading dot, no ``..``),
        or is ``plans``.
    """
    if not SAFE_NAME.fullmatch(name) or ".." in name or name == "plans":
        raise ValueError(
            f"plan name {name!r} cannot name a directory of runs: use letters, digits, "
            "'_', '.' and '-' only, without a leading dot or '..', and not 'plans'"
        )
    return out / name


def _closest(name: str, known: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _legacy_team(scenario: Scenario) -> str:
    ages = team_ages(scenario).dropna(subset=["platform_age_mean"])
    return str(ages.loc[ages["platform_age_mean"].idxmax(), "team_id"])


# -- 2.1 leading and lagging indicators -------------------------------------------------------


def indicator_table() -> pd.DataFrame:
    """Return the KPI catalogue's leading and lagging indicators, leading ones first.

    Returns
    -------
    DataFrame
        ``kpi, indicator, direction, unit, definition``, one row per KPI.
    """
    table = catalogue_table()[["kpi", "indicator", "direction", "unit", "definition"]]
    return table.sort_values(
        "indicator", kind="stable", ignore_index=True, key=lambda s: s != "leading"
    )


def _leading_lag(result: LeadLag) -> pd.Series | None:
    """Return the first lag k >= 1 whose interval is clearly below zero, or None."""
    lags = result.regression.dropna(subset=["lag"])
    clear = lags[(lags["lag"] >= 1) & (lags["ci_high"] < 0)]
    return None if clear.empty else clear.iloc[0]


def interpret_lead_lag(result: LeadLag) -> str:
    """Write what the lead–lag analysis shows about effort as a leading indicator.

    Parameters
    ----------
    result : LeadLag
        From :func:`toolkit.metrics.lead_lag.lead_lag`.

    Returns
    -------
    str
        One paragraph from the numbers.
    """
    table = result.regression.set_index("term")
    total = table.loc["sum"]
    lags = result.regression.dropna(subset=["lag"])
    strongest = lags.loc[lags["coefficient"].idxmin()]
    first = _leading_lag(result)
    nobs = int(table["nobs"].iloc[0])
    lead = (
        f"the first later period with an effect clearly below zero is lag {int(first['lag'])} "
        f"({number(first['coefficient'], 1)}, interval {number(first['ci_low'], 1)} to "
        f"{number(first['ci_high'], 1)})"
        if first is not None
        else "no later period shows an effect clearly below zero, so on this evidence the "
        "lever does not lead the outcome"
    )
    verdict = (
        "so a service manager can be held to effort now and judged on incidents later"
        if first is not None
        else "so paying for the lever would reward an input with no visible later outcome"
    )
    return (
        f"Over {nobs} team-periods, a lasting rise of one unit of {result.leading} changes "
        f"{result.lagging} by {number(total['coefficient'], 1)} per period in all (interval "
        f"{number(total['ci_low'], 1)} to {number(total['ci_high'], 1)}, "
        f"{interval_words(total['ci_low'], total['ci_high'])}). The largest single effect is at "
        f"lag {int(strongest['lag'])} ({number(strongest['coefficient'], 1)}); {lead}, {verdict}."
    )


def check_indicator_set(
    indicators: Sequence[str], effort_lag: int | None, result: LeadLag
) -> Check:
    """Judge an indicator set for a service manager and the lag named for effort.

    Goal: at least one leading and one lagging KPI of the catalogue, at most six in all, and
    ``effort_lag`` the first later period (k >= 1) at which effort's effect on incidents is
    clearly below zero in ``result``.

    Parameters
    ----------
    indicators : sequence of str
        KPI names from the catalogue.
    effort_lag : int or None
        The lag the learner reads from the analysis.
    result : LeadLag
        The section's analysis.

    Returns
    -------
    Check
        Met or not, with what was measured.

    Raises
    ------
    ValueError
        For a KPI the catalogue does not have, naming the closest.
    """
    catalogue = catalogue_table().set_index("kpi")["indicator"]
    for name in indicators:
        if name not in catalogue.index:
            raise ValueError(f"no KPI {name!r} in the catalogue{_closest(name, catalogue.index)}")
    kinds = catalogue.reindex(list(indicators))
    leading = [k for k in indicators if kinds[k] == "leading"]
    lagging = [k for k in indicators if kinds[k] == "lagging"]
    first = _leading_lag(result)
    truth = None if first is None else int(first["lag"])
    problems = []
    if not leading:
        problems.append("it has no leading indicator (no influence over inputs)")
    if not lagging:
        problems.append("it has no lagging indicator (no outcome accountability)")
    if len(indicators) > 6:
        problems.append(f"it has {len(indicators)} KPIs (at most 6 stay readable)")
    if effort_lag != truth:
        problems.append(f"lag {effort_lag} is not the first later lag clearly below zero")
    measured = (
        f"Your set has {len(leading)} leading ({listing(leading)}) and {len(lagging)} lagging "
        f"({listing(lagging)}) indicators; you named lag {effort_lag}."
    )
    if not problems:
        return passed("2.1", measured)
    return failed(
        "2.1",
        f"{measured} Not yet: {'; '.join(problems)}.",
        "Read the indicator column of the catalogue, and in the regression table look for the "
        "first lag of 1 or more whose interval lies wholly below zero.",
    )


# -- 2.2 normalised incident scoring ----------------------------------------------------------

RAW_CURVE = {
    "kind": "linear",
    "threshold": {"level": 250, "payout_pct": 50},
    "target": {"level": 150, "payout_pct": 100},
    "maximum": {"level": 80, "payout_pct": 150},
}


def incident_plan(
    base: str | Plan, metric: Mapping[str, Any], name: str = "incident_score"
) -> Plan:
    """Return ``base`` rewarding one incident-volume metric given as a plan-file mapping.

    Parameters
    ----------
    base : str or Plan
        The plan whose money and rules the metric goes into.
    metric : mapping
        The metric as in a plan file; its ``kpi`` must be ``incident_volume``.
    name : str
        The variant's name.

    Returns
    -------
    Plan
        The variant, validated like a plan file.

    Raises
    ------
    ValueError
        For another KPI, or a metric the plan grammar refuses.
    """
    if metric.get("kpi") != "incident_volume":
        raise ValueError(f"the metric must reward incident_volume, not {metric.get('kpi')!r}")
    plan = as_plan(base)
    return variant(plan, name, "incident volume alone", metrics=[Metric.model_validate(metric)])


def incident_normalisation(world: WorldLogs, base: str | Plan = "balanced") -> pd.DataFrame:
    """Raw incident counts against observed / expected per team, and what each would pay.

    The observed / expected ratio and its curve are ``base``'s ``incident_volume`` metric
    (``normalisation: expected_volume``, a Poisson GLM of each service's pre-plan counts on
    complexity, age and criticality, :func:`toolkit.plans.normalisation.expected_rates`); the
    raw count is the same metric without normalisation, on one count curve for every team.

    Parameters
    ----------
    world : WorldLogs
        The logs.
    base : str or Plan
        A plan with an ``incident_volume`` metric normalised by expected volume.

    Returns
    -------
    DataFrame
        One row per team: platform age, ``incidents`` per period, ``expected``,
        ``observed_expected``, ``payout_raw_pct`` and ``payout_normalised_pct``.
    """
    plan = as_plan(base)
    metric = next(m for m in plan.metrics if m.kpi == "incident_volume")
    normalised = incident_plan(plan, metric.model_dump(mode="python"), "incident_oe")
    raw = incident_plan(
        plan,
        {**metric.model_dump(mode="python"), "normalisation": "none", "curve": RAW_CURVE},
        "incident_raw",
    )
    oe = team_payouts(normalised, world).set_index("team_id")
    counts = team_payouts(raw, world).set_index("team_id")
    ages = team_ages(world.scenario).set_index("team_id")
    table = pd.DataFrame(
        {
            "platform_age_mean": ages["platform_age_mean"],
            "incidents": counts["value"],
            "expected": counts["value"] / oe["scored_value"],
            "observed_expected": oe["scored_value"],
            "payout_raw_pct": counts["payout_pct"],
            "payout_normalised_pct": oe["payout_pct"],
        }
    )
    return table.rename_axis("team_id").reset_index()


def interpret_normalisation(table: pd.DataFrame) -> str:
    """Write which team raw counts penalise and what observed / expected makes of it.

    Parameters
    ----------
    table : DataFrame
        From :func:`incident_normalisation`.

    Returns
    -------
    str
        One paragraph from the numbers.
    """
    legacy = table.loc[table["platform_age_mean"].idxmax()]
    most = table.loc[table["incidents"].idxmax()]
    least = table.loc[table["incidents"].idxmin()]
    worst_oe = table.loc[table["observed_expected"].idxmax()]
    raw_spread = table["payout_raw_pct"].max() - table["payout_raw_pct"].min()
    oe_spread = table["payout_normalised_pct"].max() - table["payout_normalised_pct"].min()
    fairer = oe_spread < raw_spread
    return (
        f"On raw counts {most['team_id']} logs the most incidents ({number(most['incidents'], 0)} "
        f"a period) and {least['team_id']} the fewest ({number(least['incidents'], 0)}); "
        f"{legacy['team_id']}, on the oldest platforms (mean age "
        f"{number(legacy['platform_age_mean'], 1)} years), logs {number(legacy['incidents'], 0)} "
        f"and would be paid {number(legacy['payout_raw_pct'], 0)} % of target on one count "
        f"curve. Against what its services should produce ({number(legacy['expected'], 0)}), "
        f"its observed / expected is {number(legacy['observed_expected'], 2)}, paying "
        f"{number(legacy['payout_normalised_pct'], 0)} %; the highest ratio is "
        f"{worst_oe['team_id']}'s ({number(worst_oe['observed_expected'], 2)}). The spread of "
        f"payouts across teams is {number(raw_spread, 0)} points on raw counts and "
        f"{number(oe_spread, 0)} on observed / expected, so normalising "
        + (
            "judges teams on how they run their estate rather than on what they inherited."
            if fairer
            else "does not narrow the gap here: the teams differ in more than their estate."
        )
    )


def check_normalisation(
    metric: Mapping[str, Any], world: WorldLogs, base: str | Plan = "balanced"
) -> Check:
    """Judge an incident-volume metric by whether the legacy-heavy team is paid like the others.

    Goal: the team on the oldest platforms is not penalised: it is paid no less than the other
    teams' mean payout minus 15 points, on the section's logs.

    Parameters
    ----------
    metric : mapping
        One metric as in a plan file (``kpi: incident_volume``, ``basis``, ``normalisation``,
        ``curve`` ...).
    world : WorldLogs
        The section's logs.
    base : str or Plan
        The plan the metric goes into.

    Returns
    -------
    Check
        Met or not, with the payouts measured.
    """
    plan = incident_plan(base, metric)
    payouts = team_payouts(plan, world).set_index("team_id")["payout_pct"]
    legacy = _legacy_team(world.scenario)
    others = payouts.drop(legacy).mean()
    gap = payouts[legacy] - others
    measured = (
        f"{legacy} (oldest platforms) is paid {number(payouts[legacy], 0)} % of target, the "
        f"others {number(others, 0)} % on average: a difference of {number(gap, 0)} points "
        "(goal: no lower than -15)."
    )
    if gap >= -15:
        return passed("2.2", measured)
    return failed(
        "2.2",
        measured,
        "One curve on raw counts charges a team for the size and age of what it runs; compare "
        "each team with what its own services should produce, or with its own past (see "
        "normalisation and basis in the plan grammar), and give the curve levels in that unit.",
    )


# -- 2.3 baselines on ageing platforms --------------------------------------------------------


def interpret_baselines(teams: pd.DataFrame, effect: pd.DataFrame) -> str:
    """Write who gains and who loses when the baseline moves, and whether age explains it.

    Parameters
    ----------
    teams, effect : DataFrame
        The first two results of
        :func:`~toolkit.experiments.baseline_comparison.baseline_comparison`.

    Returns
    -------
    str
        One paragraph from the numbers.
    """
    first = teams["compared_with"].iloc[0]
    legacy = teams.loc[teams["platform_age_mean"].idxmax(), "team_id"]
    parts = []
    for policy, rows in teams[teams["policy"] != first].groupby("policy", sort=False):
        row = rows.set_index("team_id").loc[legacy]
        age = effect[(effect["policy"] == policy) & (effect["age_measure"] == "platform_age_mean")]
        r = float(age["correlation"].iloc[0]) if len(age) else math.nan
        p = float(age["p_value"].iloc[0]) if len(age) else math.nan
        parts.append(
            f"under {policy} {legacy} earns {number(row['award_change'], 0)} EUR more than under "
            f"{first} (interval {number(row['award_change_ci_low'], 0)} to "
            f"{number(row['award_change_ci_high'], 0)}, "
            f"{interval_words(row['award_change_ci_low'], row['award_change_ci_high'])}), and "
            f"across teams age correlates {number(r, 2)} with the change (p = {number(p, 2)})"
        )
    return (
        f"{legacy} runs the oldest platforms. Against the {first} baseline, "
        + "; ".join(parts)
        + ". A positive correlation means the fixed baseline charges the old estates for "
        "their drift; with this few teams and seeds read the sign, not a verdict, and widen the "
        "scenario or the seeds before writing the rule into a plan."
    )


def check_baseline(
    policy: str,
    window_periods: int | None,
    plan: str | Plan,
    scenario: str | Path,
    seeds: int | Iterable[int],
    out: str | Path,
    workers: int | None = None,
    progress: bool = False,
) -> Check:
    """Judge a baseline policy by whether the team on the oldest platforms stops losing by it.

    Goal: under the policy, the team on the oldest platforms earns more than under the fixed
    baseline, and gains more than any other team does (paired by seed).

    Parameters
    ----------
    policy : str
        ``fixed``, ``rolling`` or ``ratchet``.
    window_periods : int or None
        The rolling or ratchet window.
    plan : str or Plan
        The plan.
    scenario : str or Path
        The scenario.
    seeds : int or iterable of int
        The seeds.
    out : path
        Batch directory; the fixed runs of the section are reused when it is the section's.
    workers, progress
        As for the batch.

    Returns
    -------
    Check
        Met or not, with the award changes measured.
    """
    if policy == "fixed":
        return failed(
            "2.3",
            "The fixed baseline is what the others are compared with: it changes nobody's award.",
            "Choose a baseline that moves with the platforms' drift.",
        )
    teams, _, _ = baseline_comparison(
        plan,
        [scenario_path(scenario)],
        seeds,
        out,
        policies=["fixed", policy],
        window_periods=window_periods,
        workers=workers,
        progress=progress,
    )
    rows = teams[teams["policy"] == policy].set_index("team_id")
    legacy = rows["platform_age_mean"].idxmax()
    change = rows.loc[legacy, "award_change"]
    best = rows["award_change"].idxmax()
    measured = (
        f"Under {policy} (window {window_periods or 'as in the plan'}) {legacy} earns "
        f"{number(change, 0)} EUR more than under fixed; the largest gain is {best}'s "
        f"({number(rows.loc[best, 'award_change'], 0)} EUR)."
    )
    if change > 0 and best == legacy:
        return passed("2.3", measured)
    return failed(
        "2.3",
        measured,
        "A baseline that only ever gets harder keeps charging the ageing estate; try one that "
        "follows the team's recent level, and try its window.",
    )


# -- 2.4 externally caused outages ------------------------------------------------------------


def exclusion_effect(world: WorldLogs, base: str | Plan = "balanced") -> pd.DataFrame:
    """Score the plan's availability and MTTR with and without supplier-caused exclusions.

    Parameters
    ----------
    world : WorldLogs
        The logs.
    base : str or Plan
        A plan with ``availability`` and ``mttr_mean_hours`` metrics.

    Returns
    -------
    DataFrame
        ``team_id, kpi, value_all, value_excluded, payout_all_pct, payout_excluded_pct`` and
        ``supplier_incidents`` (vendor or external, per period).
    """
    plan = as_plan(base)
    chosen = [m for m in plan.metrics if m.kpi in ("availability", "mttr_mean_hours")]
    scored = {}
    for label, causes in (("all", []), ("excluded", list(SUPPLIER_CAUSES))):
        metrics = [m.model_copy(update={"exclude_root_causes": causes}) for m in chosen]
        scored[label] = team_payouts(
            variant(plan, f"exclusions_{label}", label, metrics=metrics), world
        )
    table = scored["all"][["team_id", "kpi", "value", "payout_pct"]].merge(
        scored["excluded"][["team_id", "kpi", "value", "payout_pct"]],
        on=["team_id", "kpi"],
        suffixes=("_all", "_excluded"),
    )
    periods = len(world.periods) * len(world.logs)
    supplier = pd.concat([log.incidents for log in world.logs])
    supplier = supplier[supplier["root_cause"].isin(SUPPLIER_CAUSES)].groupby("team_id").size()
    table["supplier_incidents"] = table["team_id"].map(supplier).fillna(0) / periods
    return table.rename(
        columns={"payout_pct_all": "payout_all_pct", "payout_pct_excluded": "payout_excluded_pct"}
    )


def misattribution_findings(out: str | Path, plan: str) -> pd.DataFrame:
    """Return the review's misattribution signature for every run of a plan, per team.

    Parameters
    ----------
    out : path
        Runs with logs (:func:`plan_runs`).
    plan : str
        The plan whose runs (``out/<plan>``) are reviewed.

    Returns
    -------
    DataFrame
        ``run, team_id, before, during, size, p_value, found``.
    """
    run_logs(out, plan)  # names a plan with no runs, with the closest
    table, _ = review(Path(out) / plan)
    rows = table[table["signature"].str.contains("misattribution")]
    return rows[["run", "team_id", "before", "during", "size", "p_value", "found"]].reset_index(
        drop=True
    )


def interpret_exclusions(
    effect: pd.DataFrame, findings: pd.DataFrame, plan: str | Plan = "balanced"
) -> str:
    """Write what excluding supplier causes changes per team, and what the review found.

    Parameters
    ----------
    effect : DataFrame
        From :func:`exclusion_effect`.
    findings : DataFrame
        From :func:`misattribution_findings`.
    plan : str or Plan
        The plan whose runs were reviewed.

    Returns
    -------
    str
        One paragraph from the numbers.
    """
    availability = effect[effect["kpi"] == "availability"].copy()
    availability["gain"] = availability["payout_excluded_pct"] - availability["payout_all_pct"]
    most = availability.loc[availability["gain"].idxmax()]
    least = availability.loc[availability["gain"].idxmin()]
    teams = findings[findings["team_id"] != "ALL"]
    found = sorted(teams.loc[teams["found"].astype(bool), "team_id"].unique())
    largest = teams["during"].max() if len(teams) else math.nan
    review_words = (
        f"the review finds misattribution for {listing(found)}: supplier causes with no outage "
        "on record, the trace of teams blaming suppliers once that pays"
        if found
        else f"the review finds no misattribution in {teams['run'].nunique()} runs (the largest "
        f"share of incidents blamed on suppliers without an outage on record is "
        f"{share(largest, 2)}): on this scenario nobody games the exclusion yet, which is what an "
        "audit of root causes keeps true"
    )
    return (
        f"Excluding vendor and external causes raises availability payouts most for "
        f"{most['team_id']} ({number(most['payout_all_pct'], 0)} % to "
        f"{number(most['payout_excluded_pct'], 0)} % of target, "
        f"{number(most['supplier_incidents'], 1)} supplier incidents a period) and least for "
        f"{least['team_id']} ({number(least['gain'], 0)} points): without the exclusion a team is "
        f"paid less for its suppliers' and attackers' outages. Under {_plan_words(plan)}, "
        f"{review_words}."
    )


def _plan_words(plan: str | Plan) -> str:
    """Say what a plan excludes and whether it audits root causes, e.g. for 2.4's paragraph."""
    model = as_plan(plan)
    excluded = sorted({c for m in model.metrics for c in m.exclude_root_causes})
    audit = model.audit
    audited = (
        f"audits root causes with chance {share(audit.probability_per_period, 0)} a period"
        if audit.root_cause_audit and audit.probability_per_period > 0
        else "audits no root causes"
    )
    return f"{model.name}, which excludes {listing(excluded)} and {audited}"


def exclusion_plan(
    exclusions: Sequence[str], audit: Mapping[str, Any], base: str | Plan = "balanced"
) -> Plan:
    """Return ``base`` with every metric's exclusions and the audit replaced.

    Parameters
    ----------
    exclusions : sequence of str
        Root causes excluded from every incident and availability metric.
    audit : mapping
        The plan's ``audit`` section.
    base : str or Plan
        The plan.

    Returns
    -------
    Plan
        The variant, named ``<base>_exclusions``.
    """
    plan = as_plan(base)
    metrics = [
        m.model_copy(update={"exclude_root_causes": list(exclusions)})
        if not m.kpi.startswith("change")
        else m
        for m in plan.metrics
    ]
    return variant(
        plan,
        f"{plan.name}_exclusions",
        "exclusions and audit of the exercise",
        metrics=[Metric.model_validate(m.model_dump()) for m in metrics],
        audit=Audit.model_validate(dict(audit)),
    )


def check_exclusions(
    exclusions: Sequence[str],
    audit: Mapping[str, Any],
    world: WorldLogs,
    scenario: str | Path,
    seeds: int | Iterable[int],
    out: str | Path,
    base: str | Plan = "balanced",
    workers: int = 1,
) -> Check:
    """Judge exclusion and audit settings.

    Goal: no vendor- or attack-caused incident is charged to a team (all excluded), audits check
    root causes at least one period in ten, and the review of the plan's runs finds no
    misattribution.

    Parameters
    ----------
    exclusions : sequence of str
        Root causes excluded.
    audit : mapping
        The audit section (``probability_per_period``, ``root_cause_audit`` ...).
    world : WorldLogs
        The section's logs, to count what is still charged.
    scenario, seeds, out
        Where the variant runs (under ``out``).
    base : str or Plan
        The plan.
    workers : int
        Runs in parallel (:func:`plan_runs`).

    Returns
    -------
    Check
        Met or not, with what was measured.
    """
    plan = exclusion_plan(exclusions, audit, base)
    incidents = pd.concat([log.incidents for log in world.logs])
    supplier = incidents[incidents["root_cause"].isin(SUPPLIER_CAUSES)]
    charged = int((~supplier["root_cause"].isin(list(exclusions))).sum())
    rate = plan.audit.probability_per_period if plan.audit.root_cause_audit else 0.0
    measured = (
        f"{charged} of {len(supplier)} supplier-caused incidents are still charged to teams; "
        f"root causes are audited with chance {share(rate, 0)} a period"
    )
    found: list[str] = []
    if charged == 0 and rate >= 0.1:  # only a plan that may meet the goal is run and reviewed
        runs = plan_runs(scenario, [plan], seeds, out, workers)
        findings = misattribution_findings(runs, plan.name)
        found = sorted(findings.loc[findings["found"].astype(bool), "team_id"].unique())
        measured += f"; the review of its runs finds misattribution for {listing(found)}."
    else:
        measured += " (the plan is not run until both are met)."
    if charged == 0 and rate >= 0.1 and not found:
        return passed("2.4", measured)
    return failed(
        "2.4",
        measured,
        "Look at which root causes the scenario's incidents carry, and at the audit fields of "
        "the plan grammar that check attributions against outage records.",
    )


# -- 2.5 SLA variance ranges ------------------------------------------------------------------


def bunching_comparison(out: str | Path, plans: Sequence[str]) -> pd.DataFrame:
    """Estimate bunching under the SLA target per plan and team, over the runs under ``out``.

    Parameters
    ----------
    out : path
        Runs from :func:`plan_runs`.
    plans : sequence of str
        The plans compared.

    Returns
    -------
    DataFrame
        ``plan, team_id, runs, excess_share`` (mean), ``z`` (mean) and ``runs_found`` (one-sided
        p below 0.05), over all priorities.
    """
    frames = []
    for plan in plans:
        for seed, log in run_logs(out, plan):
            table = bunching_table(log)
            frames.append(table[table["priority"] == "ALL"].assign(plan=plan, seed=seed))
    rows = pd.concat(frames, ignore_index=True)
    rows["found"] = rows["p_value"] < 0.05
    summary = rows.groupby(["plan", "team_id"], sort=False).agg(
        runs=("seed", "size"),
        excess_share=("excess_share", "mean"),
        z=("z", "mean"),
        runs_found=("found", "sum"),
    )
    return summary.reset_index()


def breach_forgiveness(world: WorldLogs, tolerance: float) -> dict[str, float]:
    """Say which breaches a tolerance band stops counting, on the section's logs.

    Parameters
    ----------
    world : WorldLogs
        The logs.
    tolerance : float
        The band, a fraction of the target.

    Returns
    -------
    dict
        ``minor_forgiven``: share of breaches within :data:`MINOR_BREACH` over target that the
        band forgives; ``serious_forgiven``: share of the longer breaches it forgives.
    """
    if not 0 <= tolerance <= 1:
        raise ValueError(f"a tolerance is a fraction of the target in [0, 1], not {tolerance!r}")
    ratios = pd.concat([resolution_ratio(log.incidents) for log in world.logs]).dropna()
    breaches = ratios[ratios > 1]
    minor = breaches[breaches <= 1 + MINOR_BREACH]
    serious = breaches[breaches > 1 + MINOR_BREACH]
    forgiven = 1 + tolerance
    return {
        "minor_forgiven": float((minor <= forgiven).mean()) if len(minor) else math.nan,
        "serious_forgiven": float((serious <= forgiven).mean()) if len(serious) else math.nan,
    }


def tolerance_table(
    world: WorldLogs, tolerances: Sequence[float], base: str | Plan = "sla_attainment"
) -> pd.DataFrame:
    """Score SLA attainment under several tolerance bands on the same logs.

    Parameters
    ----------
    world : WorldLogs
        The logs.
    tolerances : sequence of float
        The bands.
    base : str or Plan
        A plan with an ``sla_attainment`` metric.

    Returns
    -------
    DataFrame
        One row per band: mean attainment and payout over teams, and
        :func:`breach_forgiveness`.
    """
    plan = as_plan(base)
    rows = []
    for tolerance in tolerances:
        metrics = [
            m.model_copy(update={"tolerance": tolerance}) if m.kpi == "sla_attainment" else m
            for m in plan.metrics
        ]
        scored = team_payouts(variant(plan, "tolerance", "band", metrics=metrics), world)
        scored = scored[scored["kpi"] == "sla_attainment"]
        rows.append(
            {
                "tolerance": tolerance,
                "attainment": scored["value"].mean(),
                "payout_pct": scored["payout_pct"].mean(),
                **breach_forgiveness(world, tolerance),
            }
        )
    return pd.DataFrame(rows)


def interpret_bunching(bunching: pd.DataFrame, bands: pd.DataFrame) -> str:
    """Write whether paying on attainment bunches resolutions and what a band forgives.

    Parameters
    ----------
    bunching : DataFrame
        From :func:`bunching_comparison` (the fixed-pay plan first).
    bands : DataFrame
        From :func:`tolerance_table`.

    Returns
    -------
    str
        One paragraph from the numbers.
    """
    org = bunching[bunching["team_id"] == "ALL"].set_index("plan")
    fixed, paid = org.index[0], org.index[-1]
    diff = org.loc[paid, "excess_share"] - org.loc[fixed, "excess_share"]
    narrow, wide = bands.iloc[0], bands.iloc[-1]
    return (
        f"Across the organisation, the excess of resolutions just under the SLA target is "
        f"{share(org.loc[paid, 'excess_share'], 2)} of all resolutions under {paid} against "
        f"{share(org.loc[fixed, 'excess_share'], 2)} under {fixed} (a difference of "
        f"{share(diff, 2)}; {int(org.loc[paid, 'runs_found'])} of {int(org.loc[paid, 'runs'])} "
        f"runs significant under {paid}, {int(org.loc[fixed, 'runs_found'])} under {fixed}), "
        + (
            "so the pay line leaves its trace in the record. "
            if diff > 0 and org.loc[paid, "runs_found"] > org.loc[fixed, "runs_found"]
            else "so on this evidence the pay line leaves no clear trace beyond the world's own. "
        )
        + f"A band of {share(narrow['tolerance'], 0)} forgives "
        f"{share(narrow['minor_forgiven'], 0)} of the minor breaches (up to "
        f"{share(MINOR_BREACH, 0)} over target); {share(wide['tolerance'], 0)} forgives "
        f"{share(wide['minor_forgiven'], 0)} of them and {share(wide['serious_forgiven'], 0)} of "
        f"the longer ones, raising mean attainment from {share(narrow['attainment'], 1)} to "
        f"{share(wide['attainment'], 1)}: a band spares the transient breach, and a wide one "
        "also pays for real ones."
    )


def check_tolerance(tolerance: float, world: WorldLogs) -> Check:
    """Judge a tolerance band: transient breaches spared, real ones still counted.

    Goal: at least 90 % of the minor breaches (within 10 % over target) forgiven, at most 25 %
    of the longer breaches.

    Parameters
    ----------
    tolerance : float
        The band.
    world : WorldLogs
        The section's logs.

    Returns
    -------
    Check
        Met or not, with the shares measured.
    """
    shares = breach_forgiveness(world, tolerance)
    measured = (
        f"A band of {share(tolerance, 0)} forgives {share(shares['minor_forgiven'], 0)} of the "
        f"minor breaches (goal: at least 90 %) and {share(shares['serious_forgiven'], 0)} of the "
        "longer ones (goal: at most 25 %)."
    )
    if shares["minor_forgiven"] >= 0.9 and shares["serious_forgiven"] <= 0.25:
        return passed("2.5", measured)
    return failed(
        "2.5",
        measured,
        "The band is a fraction of the target; compare it with how far over target a breach "
        "may run before it is no longer minor.",
    )


# -- 2.6 credit for joint outcomes ------------------------------------------------------------

RULES = ("owner", "equal", "contribution", "shapley")


def shared_world(
    scenario: str | Path, seeds: int | Iterable[int], service: str, partner: str
) -> WorldLogs:
    """Simulate the scenario with one service's incidents shared with a partner team.

    Parameters
    ----------
    scenario : str or Path
        The scenario.
    seeds : int or iterable of int
        The seeds.
    service : str
        The service shared (its owner keeps it; ``partner`` becomes a supporting team); ``""``
        takes the scenario's most critical service, the first listed among equals, so the
        notebook runs on any scenario.
    partner : str
        The team that also handles its incidents; ``""`` takes the first team that does not
        own the service.

    Returns
    -------
    WorldLogs
        The logs.

    Raises
    ------
    ValueError
        For an unknown service or team, naming the closest.
    """
    model = load_scenario(scenario_path(scenario))
    data = model.model_dump()
    services = {s["id"]: s for s in data["organisation"]["services"]}
    teams = [t["id"] for t in data["organisation"]["teams"]]
    if not service:
        service = min(services.values(), key=lambda s: s["criticality"])["id"]
    if not partner and service in services:
        others = [team for team in teams if team != services[service]["owning_team"]]
        partner = others[0] if others else ""
    for name, known, what in ((service, list(services), "service"), (partner, teams, "team")):
        if name not in known:
            raise ValueError(f"the scenario has no {what} {name!r}{_closest(name, known)}")
    services[service]["supporting_teams"] = [partner]
    return world_logs(Scenario.model_validate(data), seeds)


def credit_table(world: WorldLogs, base: str | Plan = "sla_attainment") -> pd.DataFrame:
    """Credit the same outcomes under every attribution rule, per team.

    Parameters
    ----------
    world : WorldLogs
        Logs with a shared service (:func:`shared_world`).
    base : str or Plan
        The plan whose ``attribution`` is varied.

    Returns
    -------
    DataFrame
        One row per rule and team: ``payout_pct`` (mean over plan periods and seeds),
        ``own_attainment`` (the team's own rows on the shared services) and, on the shared
        services, ``credit_per_stake`` (credit over stake; NaN under ``owner``).
    """
    plan = as_plan(base)
    rows = []
    own = _own_attainment(world)
    for rule in RULES:
        ruled = variant(plan, f"{plan.name}_{rule}", rule, attribution=rule)
        frames, credits = [], []
        for log in world.logs:
            scores = score_log(ruled, log, world.periods)
            frames.append(scores.metrics[scores.metrics["plan_period"]])
            if len(scores.credits):
                credits.append(scores.credits[scores.credits["plan_period"]])
        payout = pd.concat(frames).groupby("team_id")["payout_pct"].mean()
        per_stake = (
            pd.concat(credits)
            .assign(r=lambda t: t["credit_pct"] / t["stake"])
            .groupby("team_id")["r"]
            .mean()
            if credits
            else pd.Series(dtype=float)
        )
        for team, value in payout.items():
            rows.append(
                {
                    "rule": rule,
                    "team_id": team,
                    "payout_pct": value,
                    "own_attainment": own.get(team, math.nan),
                    "credit_per_stake": per_stake.get(team, math.nan),
                }
            )
    return pd.DataFrame(rows)


def _own_attainment(world: WorldLogs) -> dict[str, float]:
    """Share of each team's resolved incidents on shared services met within target."""
    frames = []
    for log in world.logs:
        inc = log.incidents[log.incidents["resolved_at"].notna()]
        teams_on = inc.groupby("service_id")["team_id"].nunique()
        shared = teams_on[teams_on > 1].index
        frames.append(inc[inc["service_id"].isin(shared)])
    rows = pd.concat(frames)
    return (~rows["sla_breached"].astype(bool)).groupby(rows["team_id"]).mean().to_dict()


def interpret_credit(table: pd.DataFrame) -> str:
    """Write how the rules credit the shared service's partners.

    Parameters
    ----------
    table : DataFrame
        From :func:`credit_table`.

    Returns
    -------
    str
        One paragraph from the numbers.
    """
    partners = table.dropna(subset=["own_attainment"])
    better = partners.loc[partners["own_attainment"].idxmax(), "team_id"]
    worse = partners.loc[partners["own_attainment"].idxmin(), "team_id"]
    own = partners.drop_duplicates("team_id").set_index("team_id")["own_attainment"]
    parts = []
    for rule in RULES[1:]:
        rows = partners[partners["rule"] == rule].set_index("team_id")["credit_per_stake"]
        parts.append(f"{rule} {number(rows[better], 0)} against {number(rows[worse], 0)}")
    return (
        f"On the shared service {better} meets {share(own[better], 1)} of its incidents within "
        f"target and {worse} {share(own[worse], 1)}. Credit per unit of stake for {better} "
        f"against {worse} is: {listing(parts)} points. Equal and contribution-weighted shares "
        "hand both partners the service's payout whatever each did on it; Shapley credits each "
        "partner with what it adds to the joint result, so the partner that carries less gets "
        "less — the rule to pick when free-riding is the worry, at the cost of a harder "
        "explanation to the teams."
    )


def check_credit(rule: str, table: pd.DataFrame) -> Check:
    """Judge a credit-sharing rule for the shared service.

    Goal: the joint outcome is shared (not ``owner``), and the partner that did better on its
    own share of the work gets more credit per unit of stake than the one that did worse.

    Parameters
    ----------
    rule : str
        One of :data:`RULES`.
    table : DataFrame
        From :func:`credit_table`.

    Returns
    -------
    Check
        Met or not, with the credits measured.

    Raises
    ------
    ValueError
        For an unknown rule, naming the closest.
    """
    if rule not in RULES:
        raise ValueError(
            f"no attribution rule {rule!r}{_closest(rule, RULES)} (rules: {', '.join(RULES)})"
        )
    if rule == "owner":
        return failed(
            "2.6",
            "Under owner each team is scored on its own rows only: nobody is credited with the "
            "joint outcome.",
            "Pick a rule that shares the service's payout among its partners.",
        )
    partners = table[(table["rule"] == rule)].dropna(subset=["own_attainment"]).set_index("team_id")
    better = partners["own_attainment"].idxmax()
    worse = partners["own_attainment"].idxmin()
    gap = partners.loc[better, "credit_per_stake"] - partners.loc[worse, "credit_per_stake"]
    rate = partners["credit_per_stake"]
    measured = (
        f"Under {rule}, {better} (the stronger partner) gets {number(rate[better], 1)} points of "
        f"credit per unit of stake and {worse} {number(rate[worse], 1)}: a difference of "
        f"{number(gap, 1)}."
    )
    if gap > 0.5:
        return passed("2.6", measured)
    return failed(
        "2.6",
        measured,
        "A rule that splits by head count or by rows handled gives both partners the same "
        "rate; look for one that values what each partner adds to the joint result.",
    )


# -- introduction and summary -----------------------------------------------------------------


def introduction(course_module: Module, scenario: Scenario, seeds: Sequence[int], out: Path) -> str:
    """Write the notebook's opening paragraph: the module, the scenario and the seeds used.

    Parameters
    ----------
    course_module : Module
        Module 2 of the catalogue.
    scenario : Scenario
        The scenario the notebook runs.
    seeds : sequence of int
        The seeds.
    out : Path
        Where the runs go.

    Returns
    -------
    str
        One paragraph.
    """
    organisation = scenario.organisation
    legacy = _legacy_team(scenario)
    oldest = max(organisation.services, key=lambda s: s.platform_age_years)
    return (
        f"**{course_module.title}**, {len(course_module.topics)} topics. The scenario "
        f"*{scenario.name}* has {len(organisation.teams)} teams and "
        f"{len(organisation.services)} services over {scenario.horizon.years} years of "
        f"{scenario.horizon.period}s; the oldest platform is {oldest.name} "
        f"({number(oldest.platform_age_years, 0)} years) and {legacy} runs the oldest estate on "
        f"average. Every run uses seeds {listing([str(s) for s in seeds])} (the same exogenous "
        f"events under every plan) and is kept under `{out}`, one folder per topic, so that a "
        "second execution reuses it."
    )


def summary(
    lags: LeadLag,
    incidents: pd.DataFrame,
    teams: pd.DataFrame,
    exclusions: pd.DataFrame,
    bunching: pd.DataFrame,
    credit: pd.DataFrame,
) -> str:
    """Collect the module's findings, one line per topic, from the sections' results.

    Parameters
    ----------
    lags, incidents, teams, exclusions, bunching, credit
        The results of sections 2.1 to 2.6.

    Returns
    -------
    str
        A Markdown list.
    """
    total = lags.regression.set_index("term").loc["sum"]
    legacy = incidents.loc[incidents["platform_age_mean"].idxmax()]
    first = teams["compared_with"].iloc[0]
    moved = teams[teams["policy"] != first]
    oldest = moved.loc[moved["platform_age_mean"] == moved["platform_age_mean"].max()]
    best = oldest.loc[oldest["award_change"].idxmax()]
    availability = exclusions[exclusions["kpi"] == "availability"]
    gain = (availability["payout_excluded_pct"] - availability["payout_all_pct"]).mean()
    org = bunching[bunching["team_id"] == "ALL"].set_index("plan")["excess_share"]
    partners = credit.dropna(subset=["own_attainment", "credit_per_stake"])
    spread = partners.groupby("rule", sort=False)["credit_per_stake"].agg(
        lambda r: r.max() - r.min()
    )
    spreads = [f"{rule} {number(gap, 1)}" for rule, gap in spread.items()]
    return "\n".join(
        [
            f"- 2.1: reliability effort changes incidents by {number(total['coefficient'], 1)} "
            f"a period in all ({interval_words(total['ci_low'], total['ci_high'])}).",
            f"- 2.2: {legacy['team_id']} is paid {number(legacy['payout_raw_pct'], 0)} % on raw "
            f"counts and {number(legacy['payout_normalised_pct'], 0)} % on observed / expected.",
            f"- 2.3: the oldest estate gains most under {best['policy']} "
            f"({number(best['award_change'], 0)} EUR against {first}).",
            f"- 2.4: excluding supplier causes raises availability payouts by {number(gain, 1)} "
            "points on average.",
            f"- 2.5: bunching under the target is {share(org.iloc[-1], 2)} under {org.index[-1]} "
            f"and {share(org.iloc[0], 2)} under {org.index[0]}.",
            f"- 2.6: the shared service's partners differ in credit per stake by "
            f"{listing(spreads)} points.",
        ]
    )
