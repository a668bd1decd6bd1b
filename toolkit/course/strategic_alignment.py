"""Module 1, strategic alignment: the notebook's interpretations and exercise checkers.

Each ``interpret_*`` function writes one paragraph from an experiment's table (which KPI, weight,
horizon, attribution rule or gate comes first, by how much, with what certainty, and what it
means for a plan designer), so the paragraph changes when the numbers do. Each ``check_*``
function measures a learner's answer against the exercise's goal, running only what the
section's results do not already hold (under the topic's output directory, whose batch cache
makes a second check of the same answer free), and returns a
:class:`~toolkit.course.exercises.Check`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.config import load_scenario
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import interval_words, listing, money, number, share
from toolkit.experiments.gate_effect import gate_effect
from toolkit.experiments.horizons import horizon_comparison, horizon_plans
from toolkit.experiments.kpi_ranking import rank_kpis
from toolkit.experiments.weight_sweep import sweep_weights
from toolkit.metrics.registry import CATALOGUE
from toolkit.resources import shipped_scenario


@dataclass(frozen=True)
class Setting:
    """Where and how the module's experiments run: the notebook's parameters, resolved.

    Parameters
    ----------
    scenario : str
        The scenario file.
    seeds : int
        Seeds 0..seeds-1.
    output_dir : Path
        The notebook's runs; one subdirectory per topic.
    workers : int
        Process pool size for the batches.
    progress : bool
        Progress bars.
    """

    scenario: str
    seeds: int
    output_dir: Path
    workers: int = 2
    progress: bool = True

    @property
    def scenarios(self) -> list[str]:
        """The scenario as the experiments take it: a list of files."""
        return [self.scenario]

    def out(self, topic: str) -> Path:
        """Return the topic's output directory, e.g. ``<output_dir>/topic_1_1``."""
        return self.output_dir / f"topic_{topic.replace('.', '_')}"

    def batch(self) -> dict[str, Any]:
        """Return the keyword arguments every experiment takes for its batch."""
        return {"workers": self.workers, "progress": self.progress}


def setting(
    scenario: str, seeds: int, output_dir: str | Path, workers: int = 2, progress: bool = True
) -> Setting:
    """Resolve the notebook's parameters: a shipped scenario's name becomes its file.

    Parameters
    ----------
    scenario : str
        A shipped scenario's name (``small``) or a scenario file.
    seeds : int
        Number of seeds, at least 1.
    output_dir : str or Path
        Where the notebook's runs go.
    workers : int
        Process pool size, at least 1.
    progress : bool
        Show progress bars.

    Returns
    -------
    Setting
        The resolved setting.

    Raises
    ------
    LookupError
        For a name no shipped scenario has (naming the closest).
    ValueError
        For fewer than one seed or worker.
    """
    if seeds < 1 or workers < 1:
        raise ValueError(f"seeds and workers must be at least 1 (got {seeds} and {workers})")
    text = str(scenario)
    path = text if ("/" in text or text.endswith((".yaml", ".yml"))) else shipped_scenario(text)
    return Setting(str(path), int(seeds), Path(output_dir), int(workers), bool(progress))


def introduction(where: Setting) -> str:
    """Say what the module runs on: the scenario's organisation, horizon and the seeds.

    Parameters
    ----------
    where : Setting
        The notebook's setting.

    Returns
    -------
    str
        One Markdown paragraph.
    """
    model = load_scenario(where.scenario)
    org = model.organisation
    shared = [s.id for s in org.services if s.supporting_teams]
    sharing = (
        f"{len(shared)} of its services ({listing(shared)}) are shared between teams"
        if shared
        else "each service is handled by its owning team alone"
    )
    return (
        f"The experiments run on scenario **{model.name}**: {len(org.teams)} teams "
        f"({listing([t.id for t in org.teams])}) with "
        f"{sum(len(t.people) for t in org.teams)} people, {len(org.services)} services and "
        f"{len(org.vendors)} vendors, simulated for {model.horizon.years} years in "
        f"{model.horizon.period}s from {model.horizon.start}; {sharing}. Every plan runs on "
        f"the same {where.seeds} seed{'s' if where.seeds != 1 else ''} (0 to "
        f"{where.seeds - 1}), so plans meet the same incidents, outages and attacks and compare "
        f"seed by seed; money is in {model.currency}. Runs are kept under "
        f"`{where.output_dir}` and reused when the notebook runs again."
    )


def _better(kpi: str) -> str:
    entry = CATALOGUE.get(kpi)
    return entry.direction if entry is not None else "higher"


def _most_reliable(sweep: pd.DataFrame) -> pd.Series:
    """Return the sweep's row with the best true reliability, in the KPI's better direction."""
    values = sweep["reliability_true"]
    lower = _better(sweep["kpi_a"].iloc[0]) == "lower"
    return sweep.loc[values.idxmin() if lower else values.idxmax()]


# -- 1.1 which KPIs --------------------------------------------------------------------------


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["status"] != "refused"]


def interpret_kpi_ranking(table: pd.DataFrame, max_gaming: float = 1.0, currency: str = "EUR"):
    """Say which KPIs the record flatters when paid alone, and which are worth paying for.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.kpi_ranking.rank_kpis`'s table (one scenario).
    max_gaming : float
        The gaming index (score points) a KPI may show and still count as not gamed.
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        One paragraph.
    """
    ran = _ranked(table)
    if ran.empty:
        return "No KPI could be paid alone on this scenario: " + "; ".join(
            f"{r.kpi}: {r.reason}" for r in table.itertuples()
        )
    most = ran.loc[ran["gaming_index"].idxmax()]
    least = ran[ran["gaming_index"] == ran["gaming_index"].min()]
    best = ran.loc[ran["net_value"].idxmax()]
    clean = ran[ran["gaming_index"] < max_gaming]
    refused = table[table["status"] == "refused"]
    parts = [
        f"Paid alone, **{most['kpi']}** is gamed most: the record beats the truth by "
        f"{number(most['gaming_index'])} score points ({number(most['gaming_gap'], 3)} in "
        f"{most['unit']}), while {listing(least['kpi'].tolist())} "
        f"{'shows' if len(least) == 1 else 'show'} the smallest gap "
        f"({number(least['gaming_index'].iloc[0])} points).",
        f"By net value against fixed pay, **{best['kpi']}** comes first with "
        f"{money(best['net_value'], currency)} (interval "
        f"{money(best['net_value_ci_low'], currency)} to "
        f"{money(best['net_value_ci_high'], currency)}, "
        f"{interval_words(best['net_value_ci_low'], best['net_value_ci_high'])}).",
    ]
    if best["gaming_index"] >= max_gaming:
        parts.append(
            f"Its value comes with {number(best['gaming_index'])} points of gaming, above the "
            f"{number(max_gaming)}-point bound: part of what it pays for is in the record only."
        )
    if clean.empty:
        parts.append(
            f"No KPI here stays below {number(max_gaming)} points of gaming when paid alone; "
            "each needs a counter-metric or an audit before it belongs in an LTI."
        )
    else:
        top = clean.loc[clean["net_value"].idxmax()]
        parts.append(
            f"Of the KPIs below {number(max_gaming)} points of gaming "
            f"({listing(clean['kpi'].tolist())}), **{top['kpi']}** brings the most, "
            f"{money(top['net_value'], currency)} "
            f"({interval_words(top['net_value_ci_low'], top['net_value_ci_high'])}): "
            "the safer candidate for a multi-year plan."
        )
    if len(refused):
        parts.append(f"RefusedError as unpayable here: {listing(refused['kpi'].tolist())}.")
    return " ".join(parts)


def check_kpi_choice(
    kpi: str,
    table: pd.DataFrame,
    where: Setting,
    max_gaming: float = 1.0,
) -> Check:
    """Check that ``kpi`` is the most valuable KPI whose gaming index stays under the bound.

    A KPI the section did not rank is run alone (two seeds' runs per scenario, under the
    topic's directory) and compared with the section's KPIs.

    Parameters
    ----------
    kpi : str
        The learner's KPI, a catalogue name.
    table : DataFrame
        The section's ranking.
    where : Setting
        The notebook's setting.
    max_gaming : float
        The largest gaming index allowed, in score points.

    Returns
    -------
    Check
        Met when ``kpi`` is below the bound and no ranked KPI below it has a higher net value.
    """
    ran = _ranked(table)
    if kpi not in set(ran["kpi"]):
        extra, _ = rank_kpis([kpi], where.scenarios, where.seeds, where.out("1.1"), **where.batch())
        if (extra["status"] == "refused").all():
            return failed(
                "1.1",
                f"{kpi} cannot be paid alone here: {extra['reason'].iloc[0]}.",
                "Choose a KPI the scenario measures and that can improve.",
            )
        ran = pd.concat([ran, _ranked(extra)], ignore_index=True)
    mine = ran[ran["kpi"] == kpi].iloc[0]
    clean = ran[ran["gaming_index"] < max_gaming]
    if mine["gaming_index"] >= max_gaming:
        return failed(
            "1.1",
            f"Paid alone, {kpi} shows a gaming index of {number(mine['gaming_index'])} points "
            f"(goal: below {number(max_gaming)}).",
            "Look at the gaming_index column: which KPIs does the record not flatter?",
        )
    top = clean.loc[clean["net_value"].idxmax()]
    if mine["net_value"] < top["net_value"]:
        return failed(
            "1.1",
            f"{kpi} stays below the bound ({number(mine['gaming_index'])} points) but its net "
            f"value, {money(mine['net_value'])}, is below another KPI's that also does.",
            "Among the KPIs under the gaming bound, compare net value.",
        )
    return passed(
        "1.1",
        f"{kpi} shows {number(mine['gaming_index'])} points of gaming (below "
        f"{number(max_gaming)}) and the highest net value of the KPIs that do, "
        f"{money(mine['net_value'])}.",
    )


# -- 1.2 weights -------------------------------------------------------------------------------


def interpret_weight_sweep(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Say what moving weight from delivery to reliability buys and costs.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.weight_sweep.sweep_weights`'s table (one scenario).
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        One paragraph.
    """
    rows = table.sort_values("share_a")
    low, high = rows.iloc[0], rows.iloc[-1]
    kpi_a, kpi_b = low["kpi_a"], low["kpi_b"]
    better = _better(kpi_a)
    best = _most_reliable(rows)
    richest = rows.loc[rows["net_value"].idxmax()]
    frontier = rows[rows["frontier"]]
    change = high["reliability_true"] - low["reliability_true"]
    improved = change < 0 if better == "lower" else change > 0
    return (
        f"Moving the weight from {kpi_b} ({share(low['share_a'], 0)} on {kpi_a}) to "
        f"{kpi_a} ({share(high['share_a'], 0)}) moves true {kpi_a} from "
        f"{number(low['reliability_true'])} to {number(high['reliability_true'])} "
        f"({'better' if improved else 'no better'}), delivery value from "
        f"{money(low['delivery_value'], currency)} to {money(high['delivery_value'], currency)} "
        f"and awards from {money(low['total_awards'], currency)} to "
        f"{money(high['total_awards'], currency)}. The best true reliability comes at "
        f"{share(best['share_a'], 0)}; the highest net value at {share(richest['share_a'], 0)} "
        f"({money(richest['net_value'], currency)}, "
        f"{interval_words(richest['net_value_ci_low'], richest['net_value_ci_high'])}). "
        f"{len(frontier)} of {len(rows)} shares are on the frontier "
        f"({listing([share(s, 0) for s in frontier['share_a']])}): between those, the "
        "negotiation is a choice of what to give up, not a mistake to avoid."
    )


def check_weight_choice(
    weight: float, table: pd.DataFrame, where: Setting, tolerance: float = 0.02, plan="balanced"
) -> Check:
    """Check that ``weight`` is the cheapest share whose true reliability is near the best.

    A share the section did not sweep is run (under the topic's directory) and joins the
    comparison.

    Parameters
    ----------
    weight : float
        The learner's share of the combined weight on the reliability KPI, in 0..1.
    table : DataFrame
        The section's sweep.
    where : Setting
        The notebook's setting.
    tolerance : float
        How far (as a fraction) true reliability may fall short of the best share's.
    plan : str
        The plan swept (as in the section).

    Returns
    -------
    Check
        Met when the share's true reliability is within ``tolerance`` of the best and no share
        within it costs less in awards.
    """
    rows = table
    if not (table["share_a"] - weight).abs().lt(1e-9).any():
        extra, _ = sweep_weights(
            plan,
            table["kpi_a"].iloc[0],
            table["kpi_b"].iloc[0],
            [float(weight)],
            scenarios=where.scenarios,
            seeds=where.seeds,
            out=where.out("1.2"),
            **where.batch(),
        )
        rows = pd.concat([table, extra], ignore_index=True)
    lower = _better(rows["kpi_a"].iloc[0]) == "lower"
    values = rows["reliability_true"]
    best = _most_reliable(rows)["reliability_true"]
    bound = best * (1 + tolerance) if lower else best * (1 - tolerance)
    near = rows[values <= bound] if lower else rows[values >= bound]
    mine = rows[(rows["share_a"] - weight).abs() < 1e-9].iloc[0]
    within = mine["reliability_true"] <= bound if lower else mine["reliability_true"] >= bound
    if not within:
        return failed(
            "1.2",
            f"At {share(weight, 0)}, true {mine['kpi_a']} is {number(mine['reliability_true'])}, "
            f"outside {share(tolerance, 0)} of the best share's {number(best)}.",
            "Give reliability more of the weight.",
        )
    cheapest = near.loc[near["total_awards"].idxmin()]
    if mine["total_awards"] > cheapest["total_awards"] + 1e-6:
        return failed(
            "1.2",
            f"At {share(weight, 0)}, reliability is within {share(tolerance, 0)} of the best, "
            f"but awards of {money(mine['total_awards'])} are more than another share within "
            "it costs.",
            "Among the shares near the best reliability, compare total_awards.",
        )
    return passed(
        "1.2",
        f"At {share(weight, 0)}, true {mine['kpi_a']} is {number(mine['reliability_true'])} "
        f"(within {share(tolerance, 0)} of the best, {number(best)}) for "
        f"{money(mine['total_awards'])} in awards, the least of the shares that reach it.",
    )


# -- 1.3 horizons ------------------------------------------------------------------------------


def interpret_horizons(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Say which horizon tilts effort most to the short term, and what it costs.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.horizons.horizon_comparison`'s table (one scenario).
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        One paragraph.
    """
    rows = table.reset_index(drop=True)
    worst = rows.loc[rows["short_termism"].idxmax()]
    calm = rows.loc[rows["short_termism"].idxmin()]
    base = rows[rows["variant"] == "as_is"].iloc[0]
    others = rows[rows["variant"] != "as_is"]
    parts = [
        f"The plan as it is ({int(base['performance_period_years'])}-year "
        f"{base['vesting_schedule']} vesting) shows a short-termism of "
        f"{number(base['short_termism'], 3)}.",
        f"**{worst['variant']}** tilts effort most to the short term "
        f"({number(worst['short_termism'], 3)}: change pace "
        f"{number(worst['change_rate_shift'], 3)}, gaming levers "
        f"{number(worst['gaming_levers'], 3)}, reliability effort "
        f"{number(worst['reliability_shift'], 3)} from their natural levels), "
        f"**{calm['variant']}** least ({number(calm['short_termism'], 3)}).",
    ]
    for row in others.itertuples():
        parts.append(
            f"{row.variant} changes net value by {money(row.net_value, currency)} against the "
            f"plan as it is ({interval_words(row.net_value_ci_low, row.net_value_ci_high)}) "
            f"and pays {money(row.total_awards, currency)} in awards."
        )
    timed = rows.dropna(subset=["vesting_short_termism"])
    if len(timed):
        peak = timed.loc[timed["vesting_short_termism"].idxmax()]
        parts.append(
            f"Where a tranche vests inside the horizon, the tilt is "
            f"{number(peak['vesting_short_termism'], 3)} higher in vesting periods under "
            f"{peak['variant']}: teams push hardest just before they are paid."
        )
    parts.append(
        "A longer performance period asks teams to carry the lagged results of their "
        "reliability work; a short one pays for what shows at once."
    )
    return " ".join(parts)


def horizon_goal(table: pd.DataFrame) -> float:
    """Set the horizon exercise's bound: halfway between the least and most short-termism seen.

    Parameters
    ----------
    table : DataFrame
        The section's horizon comparison.

    Returns
    -------
    float
        The bound, reached by at least the section's least short-termist horizon.
    """
    values = table["short_termism"].dropna()
    return float((values.min() + values.max()) / 2)


HORIZON_COLUMNS = (
    "performance_period_years",
    "grant_every_years",
    "vesting_schedule",
    "deferral_share",
    "deferral_years",
)


def _same_horizon(table: pd.DataFrame, plan: str, horizon: Mapping[str, Any]) -> pd.DataFrame:
    """Return the section's rows whose horizons are the learner's (no need to run them again)."""
    wanted = horizon_plans(plan, {"exercise": dict(horizon)})["exercise"]
    values = {
        "performance_period_years": wanted.performance_period_years,
        "grant_every_years": wanted.grant_every_years,
        "vesting_schedule": wanted.vesting.schedule,
        "deferral_share": wanted.vesting.deferral_share,
        "deferral_years": wanted.vesting.deferral_years,
    }
    same = pd.Series(True, index=table.index)
    for name, value in values.items():
        same &= table[name] == value
    return table[same]


def check_horizon_choice(
    horizon: Mapping[str, Any],
    table: pd.DataFrame,
    where: Setting,
    max_short_termism: float,
    plan: str = "balanced",
) -> Check:
    """Check that the learner's horizons bring short-termism below the bound.

    Horizons the section already ran are read from its table; others run next to the plan as
    it is (whose runs the topic's directory already holds).

    Parameters
    ----------
    horizon : mapping
        Horizon changes, as :func:`~toolkit.experiments.horizons.horizon_comparison`'s
        variants take them (``performance_period_years``, ``grant_every_years``, ``vesting``).
    table : DataFrame
        The section's horizon comparison.
    where : Setting
        The notebook's setting.
    max_short_termism : float
        The bound.
    plan : str
        The plan (as in the section).

    Returns
    -------
    Check
        Met when the variant's short-termism is below the bound.
    """
    try:
        known = _same_horizon(table, plan, horizon)
        if len(known):
            mine = known.iloc[0]
        else:
            ran, _ = horizon_comparison(
                plan,
                where.scenarios,
                where.seeds,
                where.out("1.3"),
                {"exercise": dict(horizon)},
                **where.batch(),
            )
            mine = ran[ran["variant"] == "exercise"].iloc[0]
    except ValueError as error:
        return failed("1.3", f"These horizons are not a valid plan: {error}", "Fix the variant.")
    value = mine["short_termism"]
    described = (
        f"With {int(mine['performance_period_years'])}-year periods, grants every "
        f"{int(mine['grant_every_years'])} year(s) and {mine['vesting_schedule']} vesting"
    )
    if not math.isfinite(value) or value >= max_short_termism:
        return failed(
            "1.3",
            f"{described}, short-termism is {number(value, 3)} (goal: below "
            f"{number(max_short_termism, 3)}).",
            "Which horizon makes teams carry the lagged results of reliability work longer?",
        )
    return passed(
        "1.3",
        f"{described}, short-termism is {number(value, 3)}, below "
        f"{number(max_short_termism, 3)}; net value against the plan as it is "
        f"{money(mine['net_value'])}.",
    )


# -- 1.5 attribution disputes ------------------------------------------------------------------


def interpret_disputes(
    routed: pd.DataFrame, totals: pd.DataFrame, summary: pd.DataFrame, currency: str = "EUR"
) -> str:
    """Say how much money the attribution rules dispute, who wins under which, who settles it.

    Parameters
    ----------
    routed : DataFrame
        :func:`~toolkit.experiments.attribution_disputes.route_disputes`'s table.
    totals : DataFrame
        :func:`~toolkit.experiments.attribution_disputes.rule_totals`'s table.
    summary : DataFrame
        :func:`~toolkit.experiments.attribution_disputes.routing_summary`'s table.
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        One paragraph.
    """
    if routed.empty:
        return (
            "The attribution rules pay every team alike here: no team handled a service with "
            "another, so there is nothing to dispute. Share a service between teams to see "
            "the disputes a plan would face."
        )
    seeds = routed["seed"].nunique()
    top = routed.iloc[0]
    rules = [c for c in totals.columns if c != "team_id"]
    spread = totals.set_index("team_id")[rules]
    gap = (spread.max(axis=1) - spread.min(axis=1)).sort_values(ascending=False)
    team = gap.index[0]
    busiest = summary.loc[summary["disputes"].idxmax()]
    return (
        f"On {seeds} seed{'s' if seeds != 1 else ''}, {len(routed)} team "
        f"{'plan-periods are' if len(routed) != 1 else 'plan-period is'} paid "
        f"differently depending on the rule, {money(routed['at_stake'].sum(), currency)} at "
        f"stake in all. The largest is team {top['team_id']} in {top['period']} (seed "
        f"{top['seed']}, shared work on {top['shared_services']}): "
        f"{money(top['at_stake'], currency)} between {top['favoured_by']} (most) and "
        f"{top['hurt_by']} (least). Over the plan, {team} has most to argue about: its awards "
        f"range from {money(spread.loc[team].min(), currency)} under "
        f"{spread.loc[team].idxmin()} to {money(spread.loc[team].max(), currency)} under "
        f"{spread.loc[team].idxmax()}. On this escalation path, most disputes go to the "
        f"{busiest['level']} ({int(busiest['disputes'])}, "
        f"{money(busiest['money_at_stake'], currency)}); a plan that names its rule before the "
        "year starts turns these arguments into arithmetic."
    )


def dispute_goal(disputes: pd.DataFrame) -> tuple[float, int]:
    """Set the escalation exercise's goal from the disputes found.

    Parameters
    ----------
    disputes : DataFrame
        With ``at_stake``.

    Returns
    -------
    tuple
        ``(above, board_limit)``: every dispute above ``above`` (the median stake, rounded down
        to a hundred) must leave the team leads, and the review board may see at most
        ``board_limit`` (half of those, at least 1).
    """
    if disputes.empty:
        return 0.0, 0
    above = math.floor(float(disputes["at_stake"].median()) / 100) * 100
    escalated = int((disputes["at_stake"] > above).sum())
    return float(above), max(1, escalated // 2)


def check_escalation(
    levels: Mapping[str, float],
    disputes: pd.DataFrame,
    above: float,
    board_limit: int,
    first: str = "team leads",
    board: str = "review board",
) -> Check:
    """Check an escalation path: every large dispute escalated, the board not swamped.

    Parameters
    ----------
    levels : mapping
        The learner's escalation path: level → least money at stake it handles.
    disputes : DataFrame
        The section's disputes.
    above : float
        Every dispute with more at stake than this must go past ``first``.
    board_limit : int
        The most disputes ``board`` may see.
    first, board : str
        The names of the first level and of the review board.

    Returns
    -------
    Check
        Met when both conditions hold.
    """
    from toolkit.experiments.attribution_disputes import route_disputes

    missing = [name for name in (first, board) if name not in levels]
    if missing:
        return failed(
            "1.5",
            f"The path has no level {listing(missing)}.",
            f"Keep the levels {first!r} and {board!r}.",
        )
    try:
        routed = route_disputes(disputes, levels)
    except ValueError as error:
        return failed("1.5", f"That is not an escalation path: {error}.", "Fix the thresholds.")
    large = routed[routed["at_stake"] > above]
    kept = large[large["level"] == first]
    seen = int((routed["level"] == board).sum())
    if len(kept):
        return failed(
            "1.5",
            f"{len(kept)} dispute{'s' if len(kept) != 1 else ''} above {money(above)} stay with "
            f"the {first} (the largest {money(kept['at_stake'].max())}).",
            f"Lower the threshold at which disputes leave the {first}.",
        )
    if seen > board_limit:
        return failed(
            "1.5",
            f"The {board} sees {seen} disputes (goal: at most {board_limit}).",
            "Send the largest disputes further up, past the board.",
        )
    return passed(
        "1.5",
        f"Every dispute above {money(above)} leaves the {first}, and the {board} sees {seen} "
        f"(at most {board_limit}).",
    )


# -- 1.6 gates ---------------------------------------------------------------------------------


def interpret_gate(levers: pd.DataFrame, fired: pd.DataFrame, currency: str = "EUR") -> str:
    """Say what a gate made teams stop doing, how often it disqualified and what it removed.

    Parameters
    ----------
    levers, fired : DataFrame
        The first two tables of :func:`~toolkit.experiments.gate_effect.gate_effect`.
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        One paragraph.
    """
    gate = fired.iloc[0]
    moved = levers.assign(size=levers["difference"].abs()).sort_values("size", ascending=False)
    moved = moved[moved["size"] > 1e-9]
    parts = [
        f"With the gate ({gate['gate_kpi']} at least {number(gate['at_least'], 0)} in a plan "
        f"year), {share(gate['gated_share'])} of team plan-periods were disqualified "
        f"({number(gate['gated_team_periods'], 1)} per run; it fired in "
        f"{int(gate['runs_fired'])} of {int(gate['seeds'])} runs), removing "
        f"{money(gate['awards_removed'], currency)} of awards "
        f"({interval_words(gate['awards_removed_ci_low'], gate['awards_removed_ci_high'])})."
    ]
    if moved.empty:
        parts.append("No lever moved: the teams did not change what they do under the gate.")
    else:
        top = moved.iloc[0]
        parts.append(
            f"The lever that moved most is {top['lever']} ({top['kind']}), from "
            f"{number(top['mean_without'], 3)} to {number(top['mean_with'], 3)} "
            f"({interval_words(top['ci_low'], top['ci_high'])})."
        )
        stopped = moved[(moved["kind"] == "gaming") & (moved["difference"] < 0)]
        if len(stopped):
            parts.append(f"Gaming levers teams gave up: {listing(stopped['lever'].tolist())}.")
    if gate["gated_share"] > 0.1:
        parts.append(
            "A gate that disqualifies this often hits teams for the background rate of "
            "non-compliance rather than repeated breaches; it punishes luck."
        )
    else:
        parts.append(
            "A gate this rare disqualifies only repeated breaches, which is what a "
            "non-compliance threshold is for."
        )
    return " ".join(parts)


def check_gate_level(
    at_least: float,
    fired: pd.DataFrame,
    where: Setting,
    max_share: float = 0.1,
    plan: str = "balanced",
    kpi: str = "unauthorized_count",
) -> Check:
    """Check that a gate level bites (fires at least once) without disqualifying often.

    The section's gate is read from its table; another level runs without and with the gate
    (the runs without it are the section's, reused from the topic's directory).

    Parameters
    ----------
    at_least : float
        The learner's gate level: the count in a plan year that disqualifies.
    fired : DataFrame
        The section's gate table (the second of
        :func:`~toolkit.experiments.gate_effect.gate_effect`).
    where : Setting
        The notebook's setting.
    max_share : float
        The largest share of team plan-periods it may disqualify.
    plan, kpi : str
        The plan and the gate's KPI (as in the section).

    Returns
    -------
    Check
        Met when the gate fires in some run and disqualifies at most ``max_share``.
    """
    known = fired[(fired["gate_kpi"] == kpi) & (fired["at_least"] == at_least)]
    if len(known):
        gate = known.iloc[0]
    else:
        try:
            _, ran, _ = gate_effect(
                plan,
                {"kpi": kpi, "at_least": at_least},
                where.scenarios,
                where.seeds,
                where.out("1.6"),
                **where.batch(),
            )
        except ValueError as error:
            return failed("1.6", f"That is not a gate: {error}", "Give a count above 0.")
        gate = ran.iloc[0]
    if gate["gated_share"] > max_share:
        return failed(
            "1.6",
            f"At {number(at_least, 0)}, the gate disqualifies {share(gate['gated_share'])} of "
            f"team plan-periods (goal: at most {share(max_share, 0)}).",
            "Count how many breaches an honest team has by accident in a year.",
        )
    if gate["runs_fired"] == 0:
        return failed(
            "1.6",
            f"At {number(at_least, 0)}, the gate never fires: it stops nothing.",
            "A threshold nobody reaches is no threshold.",
        )
    return passed(
        "1.6",
        f"At {number(at_least, 0)}, the gate fires in {int(gate['runs_fired'])} of "
        f"{int(gate['seeds'])} runs and disqualifies {share(gate['gated_share'])} of team "
        f"plan-periods (at most {share(max_share, 0)}).",
    )


# -- 1.4 customer satisfaction ----------------------------------------------------------------


def established_factors(coefficients: pd.DataFrame) -> list[str]:
    """Return the uncontrollable factors with at least one level whose interval excludes zero.

    Parameters
    ----------
    coefficients : DataFrame
        A CSAT fit's coefficient table (``CsatAdjustment.coefficients``).

    Returns
    -------
    list of str
        The factors, in the table's order.
    """
    rows = coefficients[coefficients["estimated"] & ~coefficients["controllable"]]
    rows = rows[rows["factor"] != "const"]
    clear = rows[(rows["ci_low"] > 0) | (rows["ci_high"] < 0)]
    return list(dict.fromkeys(clear["factor"]))


def interpret_csat(table: pd.DataFrame, coefficients: pd.DataFrame) -> str:
    """Say what the factors beyond IT's control do to CSAT and to each team's score.

    Parameters
    ----------
    table : DataFrame
        ``adjusted_csat(log, period="all")``'s table: ``team_id, surveys, observed,
        external, adjusted``.
    coefficients : DataFrame
        The fit's coefficient table.

    Returns
    -------
    str
        One paragraph.
    """
    teams = table[table["team_id"] != "ALL"].set_index("team_id")
    estimated = coefficients[coefficients["estimated"] & (coefficients["factor"] != "const")]
    outside = estimated[~estimated["controllable"]]
    inside = estimated[estimated["controllable"]]
    if outside.empty or teams.empty:
        return (
            "Too few surveys to estimate any factor beyond IT's control: the adjusted CSAT is "
            "the observed one."
        )
    big = outside.loc[outside["coefficient"].abs().idxmax()]
    control = inside.loc[inside["coefficient"].abs().idxmax()] if len(inside) else None
    moved = teams.loc[teams["external"].abs().idxmax()]
    before = teams["observed"].sort_values(ascending=False).index.tolist()
    after = teams["adjusted"].sort_values(ascending=False).index.tolist()
    clear = established_factors(coefficients)
    parts = [
        f"Over {int(teams['surveys'].sum())} surveys, the largest effect beyond IT's control "
        f"is {big['term']}: {number(big['coefficient'], 3)} points "
        f"({interval_words(big['ci_low'], big['ci_high'])}).",
        f"Factors with a level clearly away from zero: {listing(clear)}.",
    ]
    if control is not None:
        parts.append(
            f"What IT controls weighs more: {control['term']} moves a score by "
            f"{number(control['coefficient'], 3)} points, and stays in the adjusted score."
        )
    parts.append(
        f"The team the outside factors move most is {moved.name}: observed "
        f"{number(moved['observed'], 3)}, adjusted {number(moved['adjusted'], 3)} "
        f"({number(-moved['external'], 3)} points given back)."
    )
    parts.append(
        "The adjustment leaves the teams' order as it was."
        if before == after
        else f"The adjustment reorders the teams: {listing(before)} observed, "
        f"{listing(after)} adjusted; an incentive paid on raw CSAT would rank them wrongly."
    )
    return " ".join(parts)


def check_csat_factors(factors: list[str], coefficients: pd.DataFrame) -> Check:
    """Check that the factors to adjust for are exactly those the data establishes.

    An adjustment that a team can contest must rest on evidence: take out every factor
    beyond IT's control with a level clearly away from zero, and nothing else (and never what
    IT controls).

    Parameters
    ----------
    factors : list of str
        The learner's factors to take out of the score.
    coefficients : DataFrame
        The section's fit.

    Returns
    -------
    Check
        Met when ``factors`` is the set of :func:`established_factors`.
    """
    controllable = set(coefficients.loc[coefficients["controllable"], "factor"])
    known = set(coefficients["factor"]) - {"const"}
    unknown = sorted(set(factors) - known)
    if unknown:
        return failed(
            "1.4",
            f"The fit has no factor {listing(unknown)}; it has {listing(sorted(known))}.",
            "Name factors from the coefficient table's factor column.",
        )
    inside = sorted(set(factors) & controllable)
    if inside:
        return failed(
            "1.4",
            f"{listing(inside)} {'is' if len(inside) == 1 else 'are'} within IT's control: "
            "taking it out would pay teams for their own breaches.",
            "Adjust only for factors the teams cannot influence.",
        )
    clear = set(established_factors(coefficients))
    missing, weak = sorted(clear - set(factors)), sorted(set(factors) - clear)
    if missing or weak:
        said = []
        if missing:
            one = len(missing) == 1
            said.append(
                f"{listing(missing)} clearly {'moves' if one else 'move'} scores but "
                f"{'is' if one else 'are'} left in"
            )
        if weak:
            verb = "has" if len(weak) == 1 else "have"
            said.append(f"{listing(weak)} {verb} no level clearly away from zero")
        return failed(
            "1.4",
            "; ".join(said) + ".",
            "Read the ci_low and ci_high columns of the uncontrollable factors.",
        )
    return passed(
        "1.4",
        f"You take out {listing(sorted(clear)) if clear else 'nothing'}: exactly the factors "
        "beyond IT's control whose effect the data establishes.",
    )


# -- summary -----------------------------------------------------------------------------------


def summary(
    kpis: pd.DataFrame,
    weights: pd.DataFrame,
    horizons: pd.DataFrame,
    csat_coefficients: pd.DataFrame,
    disputes: pd.DataFrame,
    fired: pd.DataFrame,
    max_gaming: float = 1.0,
    currency: str = "EUR",
) -> str:
    """Collect the module's findings, one line per topic, from the sections' tables.

    Parameters
    ----------
    kpis, weights, horizons : DataFrame
        The tables of sections 1.1, 1.2 and 1.3.
    csat_coefficients : DataFrame
        Section 1.4's fit.
    disputes : DataFrame
        Section 1.5's disputes.
    fired : DataFrame
        Section 1.6's gate table.
    max_gaming : float
        The gaming bound of section 1.1.
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        A Markdown list.
    """
    ran = _ranked(kpis)
    clean = ran[ran["gaming_index"] < max_gaming]
    lines = []
    if len(clean):
        top = clean.loc[clean["net_value"].idxmax()]
        lines.append(
            f"1.1: of the KPIs paid alone, {top['kpi']} is the most valuable one the record "
            f"does not flatter ({money(top['net_value'], currency)})."
        )
    else:
        lines.append(f"1.1: every KPI paid alone was gamed by {number(max_gaming)} points or more.")
    best = _most_reliable(weights)
    lines.append(
        f"1.2: the best true {best['kpi_a']} ({number(best['reliability_true'])}) comes with "
        f"{share(best['share_a'], 0)} of the weight on it, for "
        f"{money(best['total_awards'], currency)} in awards."
    )
    calm = horizons.loc[horizons["short_termism"].idxmin()]
    lines.append(
        f"1.3: {calm['variant']} ({int(calm['performance_period_years'])}-year periods) shows "
        f"the least short-termism, {number(calm['short_termism'], 3)}."
    )
    lines.append(
        f"1.4: factors beyond IT's control the data establishes: "
        f"{listing(established_factors(csat_coefficients))}."
    )
    lines.append(
        f"1.5: {len(disputes)} team plan-periods depend on the attribution rule, "
        f"{money(float(disputes['at_stake'].sum()), currency)} at stake."
    )
    gate = fired.iloc[0]
    lines.append(
        f"1.6: a gate at {number(gate['at_least'], 0)} {gate['gate_kpi']} disqualified "
        f"{share(gate['gated_share'])} of team plan-periods."
    )
    return "\n".join(f"- {line}" for line in lines)
