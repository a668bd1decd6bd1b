"""Plans ranked by net value against the reference, with paired 95% intervals and verdicts.

Net value (:func:`toolkit.experiments.analysis.net_value`) is what the business gains by
running a plan instead of the reference on the same seed: loss avoided + value added − extra
awards, all valued on the true log. The ranking, the table, the frontier and the
recommendation of the report all read it from here, so the numbers they show are the same:

- a plan whose gaming index is above the threshold is set aside: it is listed after the
  others, without a rank;
- the others, the reference among them (at 0), are ranked by mean net value;
- a plan beats the reference when the paired 95% interval of its net value lies above zero,
  and falls short of it when the interval lies below; one seed pair gives no interval, so no
  verdict either way;
- the recommended plan is the highest-ranked of those that beat the reference, if any.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

VERDICTS = {
    "reference": "reference",
    "recommended": "recommended: beats the reference (95%)",
    "beats": "beats the reference (95%)",
    "worse": "falls short of the reference (95%)",
    "unclear": "not clear of the reference",
}
# comparisons metric -> ranking column, sign: what the plan adds against the reference
PARTS = {
    "business_loss": ("loss_avoided", -1.0),
    "delivery_value": ("value_added", 1.0),
    "total_awards": ("extra_awards", 1.0),
}


def set_aside_verdict(gaming_threshold: float) -> str:
    """Return the verdict of a plan whose gaming index is above the threshold."""
    return f"set aside: gaming index above {gaming_threshold:g}"


def net_value_ranking(
    summary: pd.DataFrame,
    comparisons: pd.DataFrame,
    reference: str,
    gaming_threshold: float = 5.0,
) -> pd.DataFrame:
    """Rank one scenario's plans by net value against the reference.

    Parameters
    ----------
    summary : DataFrame
        The scenario's ``summary.parquet`` rows, indexed by plan, with ``gaming_index``,
        ``total_awards`` and, where the batch has it, ``awards_per_loss_avoided``.
    comparisons : DataFrame
        The scenario's paired differences against ``reference`` (``comparisons.parquet``),
        with the metric ``net_value`` and, for the parts, ``business_loss``,
        ``delivery_value`` and ``total_awards``.
    reference : str
        The plan compared with; its net value is 0 by definition.
    gaming_threshold : float
        Largest acceptable gaming index, in points of target.

    Returns
    -------
    DataFrame
        Indexed by plan, in ranking order: ``rank`` (1 = best; NaN for plans set aside),
        ``net_value`` (mean paired difference), ``ci_low``, ``ci_high`` (its 95% interval;
        NaN for the reference and for fewer than two seed pairs), ``pairs``,
        ``loss_avoided``, ``value_added``, ``extra_awards`` (net value = loss avoided + value
        added − extra awards), ``total_awards``, ``awards_per_loss_avoided``,
        ``gaming_index``, ``set_aside``,
        ``beats`` and ``verdict`` (text of :data:`VERDICTS`).

    Raises
    ------
    ValueError
        If ``reference`` is not in ``summary``.
    """
    if reference not in summary.index:
        raise ValueError(f"reference plan {reference!r} is not among {list(summary.index)}")
    table = pd.DataFrame(index=pd.Index(summary.index, name="plan"))
    paired = comparisons.set_index(["metric", "plan"]) if len(comparisons) else None

    def metric(name: str, column: str) -> pd.Series:
        if paired is None or name not in paired.index.get_level_values("metric"):
            return pd.Series(np.nan, index=table.index)
        return paired.loc[name, column].reindex(table.index).astype(float)

    table["net_value"] = metric("net_value", "mean_difference")
    table["ci_low"] = metric("net_value", "ci_low")
    table["ci_high"] = metric("net_value", "ci_high")
    table["pairs"] = metric("net_value", "pairs")
    single = ~(table["pairs"] >= 2)  # one seed pair has no interval, whatever its bounds say
    table.loc[single, ["ci_low", "ci_high"]] = np.nan
    for name, (column, sign) in PARTS.items():
        table[column] = sign * metric(name, "mean_difference")
    table.loc[reference, ["net_value", *(column for column, _ in PARTS.values())]] = 0.0
    table["total_awards"] = summary["total_awards"].astype(float)
    table["awards_per_loss_avoided"] = summary.get(
        "awards_per_loss_avoided", pd.Series(np.nan, index=table.index)
    ).astype(float)
    table["gaming_index"] = summary["gaming_index"].astype(float)
    others = table.index != reference
    table["set_aside"] = others & (table["gaming_index"] > gaming_threshold)
    table["beats"] = others & ~table["set_aside"] & (table["ci_low"] > 0)
    table["verdict"] = np.select(
        [~others, table["set_aside"], table["beats"], table["ci_high"] < 0],
        [
            VERDICTS["reference"],
            set_aside_verdict(gaming_threshold),
            VERDICTS["beats"],
            VERDICTS["worse"],
        ],
        VERDICTS["unclear"],
    )
    order = table.assign(_name=table.index).sort_values(
        ["set_aside", "net_value", "_name"], ascending=[True, False, True], na_position="last"
    )
    table = order.drop(columns="_name")
    kept = ~table["set_aside"]
    table["rank"] = np.where(kept, np.cumsum(kept), np.nan)
    beating = table.index[table["beats"]]
    if len(beating):
        table.loc[beating[0], "verdict"] = VERDICTS["recommended"]
    return table[["rank", *(column for column in table.columns if column != "rank")]]


def dominated_plans(ranking: pd.DataFrame) -> dict[str, str]:
    """Map each dominated plan to the plan with the highest net value that dominates it.

    A plan is dominated when another has at least its net value for at most its award cost,
    and is better in one of the two.

    Parameters
    ----------
    ranking : DataFrame
        Indexed by plan, with ``net_value`` and ``total_awards`` (as
        :func:`net_value_ranking` returns it).

    Returns
    -------
    dict
        Dominated plan → dominating plan, in the ranking's order.
    """
    value, cost = ranking["net_value"], ranking["total_awards"]
    result = {}
    for plan in ranking.index:
        better = [
            other
            for other in ranking.index
            if value[other] >= value[plan]
            and cost[other] <= cost[plan]
            and (value[other] > value[plan] or cost[other] < cost[plan])
        ]
        if better:
            result[plan] = max(better, key=lambda other: value[other])
    return result
