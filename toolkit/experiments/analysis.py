"""What a batch says: per-run fairness and liability, paired plan comparisons, robust ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.weightstats import DescrStatsW

DEFINITIONS = {
    "net_value": "what the business gains by running the plan instead of the reference plan "
    "on the same scenario and seed: loss avoided (reference business_loss - the plan's) + value "
    "added (the plan's delivery_value - the reference's) - extra awards (the plan's "
    "total_awards - the reference's), scenario currency; 0 for the reference",
    "awards_per_loss_avoided": "extra awards paid per unit of business loss avoided against the "
    "reference, from means over the seeds both ran: max(0, extra awards) / loss avoided; "
    "undefined (no improvement) where the plan avoids no loss, 0 where it avoids loss for no "
    "extra awards, never negative",
}


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts (0 = equal shares, near 1 = one takes all)."""
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() == 0:
        return 0.0
    ranks = np.arange(1, len(x) + 1)
    return float((2 * ranks - len(x) - 1) @ x / (len(x) * x.sum()))


def fairness(awards: pd.DataFrame, people: pd.DataFrame) -> dict[str, float]:
    """Return the Gini of awards across teams and the gender gap in mean award per person.

    The gap is (men's mean − women's mean) / men's mean over all people, awarded or not;
    0 when either group is empty or men earn nothing.
    """
    earned = awards.groupby("person_id")["earned"].sum() if len(awards) else pd.Series()
    per_person = people.assign(earned=people["person_id"].map(earned).fillna(0.0))
    by_team = per_person.groupby("team_id")["earned"].sum()
    means = per_person.groupby("gender")["earned"].mean()
    men, women = means.get("male", np.nan), means.get("female", np.nan)
    gap = (men - women) / men if np.isfinite(men) and np.isfinite(women) and men > 0 else 0.0
    return {"awards_gini_teams": gini(by_team.to_numpy()), "gender_gap_awards": float(gap)}


def net_value(runs: pd.DataFrame, reference: str) -> pd.Series:
    """Return each run's net value against the ``reference`` plan on the same scenario and seed.

    Net value is what the business gains by running the plan instead of the reference: loss
    avoided (reference's ``business_loss`` − the run's) + value added (the run's
    ``delivery_value`` − the reference's) − extra awards (the run's ``total_awards`` − the
    reference's), in the scenario currency. The reference's own runs score exactly 0.

    Parameters
    ----------
    runs : DataFrame
        One row per run with ``scenario, plan, seed, business_loss, delivery_value,
        total_awards``.
    reference : str
        The plan compared with.

    Returns
    -------
    Series
        Aligned with ``runs``; NaN where the reference has no run on the same scenario and
        seed.
    """
    money = ["business_loss", "delivery_value", "total_awards"]
    base = runs.loc[runs["plan"] == reference, ["scenario", "seed", *money]]
    paired = runs[["scenario", "seed", *money]].merge(
        base, on=["scenario", "seed"], how="left", suffixes=("", "_ref")
    )
    value = (
        (paired["business_loss_ref"] - paired["business_loss"])
        + (paired["delivery_value"] - paired["delivery_value_ref"])
        - (paired["total_awards"] - paired["total_awards_ref"])
    )
    return pd.Series(value.to_numpy(), index=runs.index, name="net_value")


def awards_per_loss_avoided(runs: pd.DataFrame, reference: str) -> pd.Series:
    """Return, per scenario and plan, the extra awards paid per unit of business loss avoided.

    The price of an improvement: (mean ``total_awards`` − the reference's) / (the reference's
    mean ``business_loss`` − the plan's), over the seeds both ran. NaN ("no improvement")
    where the plan avoids no loss: nothing was bought, whatever it cost, and a ratio with a
    loss added below the line would read as a negative price, a bargain. A plan that avoids
    loss while paying no more than the reference costs 0 per unit (its extra awards count as
    0): the price is never negative. NaN for the reference itself.

    Parameters
    ----------
    runs : DataFrame
        One row per run with ``scenario, plan, seed, business_loss, total_awards``.
    reference : str
        The plan compared with.

    Returns
    -------
    Series
        Indexed by ``(scenario, plan)``.
    """
    money = ["business_loss", "total_awards"]
    base = runs.loc[runs["plan"] == reference, ["scenario", "seed", *money]]
    paired = runs[["scenario", "plan", "seed", *money]].merge(
        base, on=["scenario", "seed"], suffixes=("", "_ref")
    )
    means = paired.groupby(["scenario", "plan"])[
        [*money, *(f"{name}_ref" for name in money)]
    ].mean()
    avoided = means["business_loss_ref"] - means["business_loss"]
    extra = means["total_awards"] - means["total_awards_ref"]
    return (extra.clip(lower=0) / avoided.where(avoided > 0)).rename("awards_per_loss_avoided")


def paired_differences(
    runs: pd.DataFrame, reference: str, metrics: tuple[str, ...], alpha: float = 0.05
) -> pd.DataFrame:
    """Compare every plan with ``reference`` seed by seed within each scenario.

    Returns one row per scenario, plan and metric: the mean paired difference (plan minus
    reference), its confidence interval (t, statsmodels) and the number of pairs. Metrics
    ``runs`` does not hold (a batch written before they existed) are left out.
    """
    metrics = tuple(metric for metric in metrics if metric in runs.columns)
    rows = []
    base = runs[runs["plan"] == reference]
    for (scenario, plan), group in runs[runs["plan"] != reference].groupby(["scenario", "plan"]):
        joined = group.merge(base, on=["scenario", "seed"], suffixes=("", "_ref"))
        for metric in metrics:
            diff = (joined[metric] - joined[f"{metric}_ref"]).to_numpy(dtype=float)
            if len(diff) >= 2 and np.ptp(diff) > 0:
                low, high = DescrStatsW(diff).tconfint_mean(alpha=alpha)
            else:
                low = high = float(diff.mean()) if len(diff) else np.nan
            rows.append(
                {
                    "scenario": scenario,
                    "plan": plan,
                    "reference": reference,
                    "metric": metric,
                    "mean_difference": float(diff.mean()) if len(diff) else np.nan,
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "pairs": len(diff),
                }
            )
    return pd.DataFrame(rows)


def robust_ranking(summary: pd.DataFrame, objective: str, higher_is_better: bool) -> pd.DataFrame:
    """Rank plans across scenarios by mean, worst case and minimax regret of one objective.

    Regret in a scenario is how far a plan falls short of the best plan there; the minimax
    choice keeps the largest regret smallest.
    """
    table = summary.pivot_table(index="plan", columns="scenario", values=objective)
    oriented = table if higher_is_better else -table
    regret = oriented.max(axis=0) - oriented
    ranking = pd.DataFrame(
        {
            "mean": table.mean(axis=1),
            "worst": table.min(axis=1) if higher_is_better else table.max(axis=1),
            "max_regret": regret.max(axis=1),
        }
    )
    ranking["rank_mean"] = oriented.mean(axis=1).rank(ascending=False, method="min").astype(int)
    ranking["rank_worst"] = oriented.min(axis=1).rank(ascending=False, method="min").astype(int)
    ranking["rank_regret"] = ranking["max_regret"].rank(method="min").astype(int)
    return ranking.reset_index().sort_values("rank_regret", kind="stable", ignore_index=True)
