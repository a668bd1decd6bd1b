"""The report's recommendation, written from the numbers by fixed, stated rules.

Rules, per scenario:

1. A plan whose gaming index (reported minus true score, points of target) is above the
   threshold is set aside: part of what it pays for is not real.
2. Of the others, those whose paired difference in true health against the reference has a 95%
   interval above zero improve the truth. If there are any, the one buying the most true health
   per unit of award money is recommended; if none, the reference is.
3. Among the plans kept in rule 1, the best value is the one with the lowest cost per point of
   true health (``cost_per_health``), named even when it does not improve the truth.
4. A plan is dominated when another has at least its true health for at most its awards, and
   is better in one of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from toolkit.report.data import Batch
from toolkit.report.escaping import md_code, md_text
from toolkit.report.tables import GAP_KPIS, kpi_gaps


@dataclass(frozen=True)
class Recommendation:
    """What the numbers of one scenario recommend, and the text that says so.

    Attributes
    ----------
    scenario : str
        The scenario.
    plan : str
        The recommended plan: one that improves true health with little gaming, or the
        reference.
    best_value : str or None
        Lowest cost per point of true health among plans at or below the gaming threshold.
    improving : tuple of str
        Plans at or below the threshold whose true health beats the reference's (95%).
    gaming : dict
        Plans above the threshold and their gaming index.
    dominated : dict
        Each dominated plan and the plan that dominates it.
    markdown : str
        The recommendation as Markdown.
    """

    scenario: str
    plan: str
    best_value: str | None
    improving: tuple[str, ...]
    gaming: dict[str, float]
    dominated: dict[str, str]
    markdown: str


def dominated_plans(summary: pd.DataFrame) -> dict[str, str]:
    """Map each dominated plan to the plan with the highest true health that dominates it.

    Parameters
    ----------
    summary : DataFrame
        Indexed by plan, with ``true_health`` and ``total_awards``.

    Returns
    -------
    dict
        Dominated plan → dominating plan, in the summary's order.
    """
    health, cost = summary["true_health"], summary["total_awards"]
    result = {}
    for plan in summary.index:
        better = [
            other
            for other in summary.index
            if health[other] >= health[plan]
            and cost[other] <= cost[plan]
            and (health[other] > health[plan] or cost[other] < cost[plan])
        ]
        if better:
            result[plan] = max(better, key=lambda other: health[other])
    return result


def recommend(
    summary: pd.DataFrame,
    comparisons: pd.DataFrame,
    reference: str,
    gaming_threshold: float = 5.0,
    currency: str = "",
    gaps: pd.DataFrame | None = None,
    scenario: str = "",
) -> Recommendation:
    """Write the recommendation for one scenario from its numbers.

    Parameters
    ----------
    summary : DataFrame
        The scenario's ``summary.parquet`` rows, indexed by plan.
    comparisons : DataFrame
        The scenario's paired differences against ``reference`` (``comparisons.parquet``).
    reference : str
        The plan the others are compared with, usually ``no_incentive``.
    gaming_threshold : float
        Largest acceptable gaming index, in points of target.
    currency : str
        Currency code for amounts.
    gaps : DataFrame, optional
        KPI gaps from :func:`toolkit.report.tables.kpi_gaps`; the largest is named.
    scenario : str
        The scenario's name.

    Returns
    -------
    Recommendation
        The plans it names and the Markdown text.

    Raises
    ------
    ValueError
        If ``reference`` is not in ``summary``.
    """
    if reference not in summary.index:
        raise ValueError(f"reference plan {reference!r} is not among {list(summary.index)}")

    def money(value: float) -> str:
        return f"{md_text(currency)} {value:,.0f}".strip()

    health = comparisons[comparisons["metric"] == "true_health"].set_index("plan")
    others = [plan for plan in summary.index if plan != reference]
    gaming = {p: float(summary.at[p, "gaming_index"]) for p in others}
    kept = [p for p in others if gaming[p] <= gaming_threshold]
    improving = tuple(p for p in kept if p in health.index and health.at[p, "ci_low"] > 0)
    paying = [p for p in kept if summary.at[p, "total_awards"] > 0]
    best_value = min(paying, key=lambda p: summary.at[p, "cost_per_health"], default=None)
    pairs = int(health["pairs"].max()) if len(health) else 0

    def per_money(plan: str) -> float:
        return health.at[plan, "mean_difference"] / max(summary.at[plan, "total_awards"], 1e-9)

    chosen = max(improving, key=per_money) if improving else reference

    def describe(plan: str) -> str:
        row = summary.loc[plan]
        text = f"true health {row['true_health']:.1f}"
        if plan in health.index:
            diff = health.loc[plan]
            text += (
                f" ({diff['mean_difference']:+.2f} against {md_code(reference)}, 95% interval "
                f"{diff['ci_low']:+.2f} to {diff['ci_high']:+.2f})"
            )
        return (
            f"{text}, total awards {money(row['total_awards'])} "
            f"({money(row['cost_per_health'])} per point of true health), gaming index "
            f"{row['gaming_index']:.1f} points"
        )

    seeds = f"{pairs} paired seed{'' if pairs == 1 else 's'}"
    if pairs < 2:
        seeds += " (too few for a confidence interval: run the batch with more seeds)"
    if not others:
        lines = [
            f"**Recommended plan: {md_code(chosen)}.** The batch holds no other plan to compare it "
            f"with; run `lti batch` with the candidate plans next to {md_code(reference)}."
        ]
    elif improving:
        lines = [
            f"**Recommended plan: {md_code(chosen)}.** Of the plans with a gaming index of at most "
            f"{gaming_threshold:g} points, {len(improving)} raise true health above "
            f"{md_code(reference)} with 95% confidence over {seeds}; {md_code(chosen)} buys the "
            f"most true health per unit of award money: {describe(chosen)}.",
            "",
        ]
    else:
        lines = [
            f"**Recommended plan: {md_code(chosen)}.** No plan with a gaming index of at most "
            f"{gaming_threshold:g} points raises true health above {md_code(reference)} with 95% "
            f"confidence over {seeds}: on this evidence, awards buy no health "
            f"the runs can show ({md_code(reference)}: true health "
            f"{summary.at[reference, 'true_health']:.1f}).",
            "",
        ]
    if best_value is not None and best_value != chosen:
        lines.append(
            f"- Best value among plans with a gaming index of at most {gaming_threshold:g}: "
            f"{md_code(best_value)}, {describe(best_value)}."
        )
    for plan in sorted(gaming, key=gaming.get, reverse=True):
        if gaming[plan] > gaming_threshold:
            row = summary.loc[plan]
            lines.append(
                f"- Set aside {md_code(plan)}: its reported score "
                f"({row['reported_score_mean']:.1f}% of target) overstates the true score "
                f"({row['true_score_mean']:.1f}%) by "
                f"{gaming[plan]:.1f} points, above the threshold of {gaming_threshold:g}."
            )
    dominated = dominated_plans(summary)
    for plan, by in dominated.items():
        aside = (
            " (itself set aside for gaming)"
            if by in gaming and gaming[by] > gaming_threshold
            else ""
        )
        lines.append(
            f"- {md_code(plan)} is dominated by {md_code(by)}{aside}: true health "
            f"{summary.at[by, 'true_health']:.1f} against {summary.at[plan, 'true_health']:.1f}, "
            f"for {money(summary.at[by, 'total_awards'])} rather than "
            f"{money(summary.at[plan, 'total_awards'])} in awards."
        )
    if gaps is not None and len(gaps.dropna(subset=["gap_pct"])):
        worst = gaps.loc[gaps["gap_pct"].idxmax()]
        if worst["gap_pct"] > 0:
            kpi = md_text(GAP_KPIS.get(worst["kpi"], worst["kpi"]))
            lines.append(
                f"- The record flatters most on {kpi} "
                f"under {md_code(worst['plan'])}: it looks {worst['gap_pct']:.1f}% better than the "
                f"truth."
            )
    adopted = chosen if chosen != reference else best_value
    if adopted is not None:
        row = summary.loc[adopted]
        lines.append(
            f"- Under {md_code(adopted)}, {money(row['liability_p50'])} (P50; P90 "
            f"{money(row['liability_p90'])}) is still owed at the horizon's end, to be paid "
            f"after it. Awards have a Gini of {row['awards_gini_teams']:.2f} across teams and "
            f"a gender gap of {100 * row['gender_gap_awards']:+.1f}% (positive: men earn more "
            f"per head)."
        )
    return Recommendation(
        scenario=scenario,
        plan=chosen,
        best_value=best_value,
        improving=improving,
        gaming={p: g for p, g in gaming.items() if g > gaming_threshold},
        dominated=dominated,
        markdown="\n".join(lines),
    )


def recommendations(batch: Batch, gaming_threshold: float = 5.0) -> list[Recommendation]:
    """Return the recommendation for every scenario the report covers."""
    return [
        recommend(
            batch.summary_of(scenario),
            batch.comparisons[batch.comparisons["scenario"] == scenario],
            batch.reference,
            gaming_threshold,
            batch.currency(scenario),
            kpi_gaps(batch, scenario),
            scenario,
        )
        for scenario in batch.scenarios
    ]


def recommendation_markdown(batch: Batch, gaming_threshold: float = 5.0) -> str:
    """Return the recommendations as Markdown, headed by scenario when there are several."""
    found = recommendations(batch, gaming_threshold)
    if len(found) == 1:
        return found[0].markdown
    return "\n\n".join(f"### Scenario {md_code(r.scenario)}\n\n{r.markdown}" for r in found)
