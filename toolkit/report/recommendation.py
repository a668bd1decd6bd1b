"""The report's recommendation, written from the numbers by fixed, stated rules.

Rules, per scenario (the ranking is :func:`toolkit.report.ranking.net_value_ranking`):

1. A plan whose gaming index (reported minus true score, points of target) is above the
   threshold is set aside: part of what it pays for is not real.
2. Of the others, those whose net value against the reference (loss avoided + value added −
   extra awards, seed by seed) has a paired 95% interval above zero beat the reference. If
   there are any, the one with the highest mean net value is recommended.
3. If none does, the text says that no plan beats the reference on this evidence and names
   the best of the plans kept in rule 1 by mean net value, with its interval.
4. A plan is dominated when another has at least its net value for at most its award cost,
   and is better in one of the two.

Every figure in the text is read from the ranking and the summary, as the tables show them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from toolkit.report.data import Batch
from toolkit.report.escaping import md_code, md_text
from toolkit.report.ranking import dominated_plans, net_value_ranking
from toolkit.report.tables import GAP_KPIS, kpi_gaps


@dataclass(frozen=True)
class Recommendation:
    """What the numbers of one scenario recommend, and the text that says so.

    Attributes
    ----------
    scenario : str
        The scenario.
    plan : str or None
        The recommended plan: the highest net value among the plans at or below the gaming
        threshold that beat the reference with 95% confidence; None when no plan does.
    best : str or None
        The highest mean net value among the plans other than the reference at or below the
        threshold, whether or not its interval lies above zero; None when there is no such
        plan.
    beating : tuple of str
        Plans at or below the threshold whose net value beats the reference's (95%), best
        first.
    gaming : dict
        Plans above the threshold and their gaming index.
    dominated : dict
        Each dominated plan and the plan that dominates it.
    ranking : DataFrame
        The ranking the text is written from.
    markdown : str
        The recommendation as Markdown.
    """

    scenario: str
    plan: str | None
    best: str | None
    beating: tuple[str, ...]
    gaming: dict[str, float]
    dominated: dict[str, str]
    ranking: pd.DataFrame
    markdown: str


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
    ranking = net_value_ranking(summary, comparisons, reference, gaming_threshold)
    others = ranking.drop(index=reference)
    kept = others[~others["set_aside"]]
    beating = tuple(kept.index[kept["beats"]])
    chosen = beating[0] if beating else None
    best = kept.index[0] if len(kept) and pd.notna(kept["net_value"].iloc[0]) else None
    pairs = int(others["pairs"].max()) if others["pairs"].notna().any() else 0
    ref = md_code(reference)

    def money(value: float) -> str:
        return f"{md_text(currency)} {value:,.0f}".strip()

    def describe(plan: str) -> str:
        row = ranking.loc[plan]
        text = f"net value {money(row['net_value'])} against {ref}"
        if pd.notna(row["ci_low"]):
            text += f" (95% interval {money(row['ci_low'])} to {money(row['ci_high'])})"
        price = row["awards_per_loss_avoided"]
        unit = md_text(currency) or "unit"
        priced = (
            f"{price:.2f} in awards per {unit} of loss avoided"
            if math.isfinite(price)
            else "no loss avoided"
        )
        return (
            f"{text}: loss avoided {money(row['loss_avoided'])}, value added "
            f"{money(row['value_added'])}, extra awards {money(row['extra_awards'])}; total "
            f"awards {money(row['total_awards'])} ({priced}), gaming index "
            f"{row['gaming_index']:.1f} points"
        )

    seeds = f"{pairs} paired seed{'' if pairs == 1 else 's'}"
    if pairs < 2:
        seeds += " (too few for a confidence interval: run the batch with more seeds)"
    limit = f"a gaming index of at most {gaming_threshold:g} points"
    if others.empty:
        lines = [
            f"**No plan to compare with {ref}.** The batch holds no other plan; run `lti batch` "
            f"with the candidate plans next to {ref}."
        ]
    elif chosen is not None:
        lines = [
            f"**Recommended plan: {md_code(chosen)}.** Of the plans with {limit}, "
            f"{len(beating)} beat{'s' if len(beating) == 1 else ''} {ref} on net value with 95% "
            f"confidence over {seeds}; {md_code(chosen)} has the highest mean net value: "
            f"{describe(chosen)}.",
            "",
        ]
        lines += [f"- {md_code(plan)} also beats {ref}: {describe(plan)}." for plan in beating[1:]]
        if best != chosen:
            lines.append(
                f"- {md_code(best)} has a higher mean net value, but its 95% interval does not lie "
                f"above zero: {describe(best)}."
            )
    else:
        lines = [
            f"**No plan beats {ref} on this evidence.** No plan with {limit} has a net value "
            f"whose 95% interval over {seeds} lies above zero.",
            "",
        ]
        if best is not None:
            lines.append(f"- Best by net value: {md_code(best)}, {describe(best)}.")
        else:
            lines.append(f"- Every plan but {ref} is set aside for gaming.")
    gaming = {plan: float(ranking.at[plan, "gaming_index"]) for plan in others.index}
    for plan in others.index[others["set_aside"]]:
        row = summary.loc[plan]
        lines.append(
            f"- Set aside {md_code(plan)}: its reported score "
            f"({row['reported_score_mean']:.1f}% of target) overstates the true score "
            f"({row['true_score_mean']:.1f}%) by {gaming[plan]:.1f} points, above the threshold "
            f"of {gaming_threshold:g}; {describe(plan)}."
        )
    dominated = dominated_plans(ranking)
    for plan, by in dominated.items():
        aside = " (itself set aside for gaming)" if ranking.at[by, "set_aside"] else ""
        lines.append(
            f"- {md_code(plan)} is dominated by {md_code(by)}{aside}: net value "
            f"{money(ranking.at[by, 'net_value'])} against "
            f"{money(ranking.at[plan, 'net_value'])}, for "
            f"{money(ranking.at[by, 'total_awards'])} rather than "
            f"{money(ranking.at[plan, 'total_awards'])} in awards."
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
    adopted = chosen if chosen is not None else best
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
        best=best,
        beating=beating,
        gaming={p: g for p, g in gaming.items() if ranking.at[p, "set_aside"]},
        dominated=dominated,
        ranking=ranking,
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
