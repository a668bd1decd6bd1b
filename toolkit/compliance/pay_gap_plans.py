"""The gap each plan would create: pay-gap indicators of a batch's runs, summarised per plan.

A plan designer compares plans on net value; this puts beside it what each plan does to the
gender pay gap, seed by seed against the reference plan on the same scenario and seed, so a
plan that widens the gap shows it before it is adopted.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from statsmodels.stats.weightstats import DescrStatsW

from toolkit.compliance.pay_conventions import PayGapConventions
from toolkit.compliance.pay_gap import (
    JOINT_ASSESSMENT,
    MEAN_GAP,
    MEDIAN_GAP,
    RECEIVING,
    VARIABLE_MEAN_GAP,
    VARIABLE_MEDIAN_GAP,
    pay_gap_report,
)
from toolkit.compliance.pay_people import people_from_run
from toolkit.config import Scenario

GAPS = (MEAN_GAP, VARIABLE_MEAN_GAP, MEDIAN_GAP, VARIABLE_MEDIAN_GAP)
RUN_COLUMNS = (*GAPS, "share_women_receiving", "share_men_receiving", "categories_flagged")


def run_row(report: dict) -> dict[str, float]:
    """Return a run's headline pay-gap figures from its report (NaN where not shown).

    Parameters
    ----------
    report : dict
        A :func:`~toolkit.compliance.pay_gap.pay_gap_report`.

    Returns
    -------
    dict
        The :data:`RUN_COLUMNS`: the four gaps (percent), the shares of women and men
        receiving variable pay, and how many categories the Art. 10 flag raises.
    """
    row = {
        key: np.nan if report[key]["value_percent"] is None else report[key]["value_percent"]
        for key in GAPS
    }
    for who in ("women", "men"):
        row[f"share_{who}_receiving"] = report[RECEIVING][who].get("share_receiving", np.nan)
    row["categories_flagged"] = float(len(report[JOINT_ASSESSMENT]["categories_flagged"]))
    return row


def run_pay_gaps(
    scenario: Scenario,
    runs: Iterable[tuple[dict, pd.DataFrame, pd.DataFrame]],
    conventions: PayGapConventions,
) -> pd.DataFrame:
    """Return the headline pay-gap figures of each run of one scenario.

    Parameters
    ----------
    scenario : Scenario
        The scenario the runs were made with (its people and their base pay).
    runs : iterable of (dict, DataFrame, DataFrame)
        Per run: what identifies it (e.g. ``scenario``, ``plan``, ``seed``), its
        ``awards.parquet`` and its ``cashflows.parquet``.
    conventions : PayGapConventions
        How pay is counted; the Art. 10 decomposition runs without bootstrap intervals.

    Returns
    -------
    DataFrame
        One row per run: the identifying columns, ``year`` (the reference year) and the
        :data:`RUN_COLUMNS`.
    """
    rows = []
    for identity, awards, cashflows in runs:
        people, year = people_from_run(scenario, awards, cashflows, conventions)
        report = pay_gap_report(people, conventions, year, bootstrap=False)
        rows.append({**identity, "year": year, **run_row(report)})
    return pd.DataFrame(rows)


def _interval(values: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Mean and t-interval of the finite values (NaN where none; a point for one)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return np.nan, np.nan, np.nan
    if len(values) < 2 or np.ptp(values) == 0:
        return float(values.mean()), float(values.mean()), float(values.mean())
    low, high = DescrStatsW(values).tconfint_mean(alpha=alpha)
    return float(values.mean()), float(low), float(high)


def plan_pay_gaps(runs: pd.DataFrame, reference: str | None, alpha: float = 0.05) -> pd.DataFrame:
    """Summarise the runs' pay gaps per scenario and plan, and their change against a reference.

    Parameters
    ----------
    runs : DataFrame
        One row per run: ``scenario``, ``plan``, ``seed`` and the :data:`RUN_COLUMNS`.
    reference : str or None
        The plan compared with, seed by seed within a scenario; None compares with none.
    alpha : float
        1 − coverage of the t-intervals over seeds.

    Returns
    -------
    DataFrame
        Per scenario and plan: ``seeds``; for each gap its mean over the seeds where it is
        shown, ``_low`` and ``_high`` (the interval) and ``_vs_reference`` (mean of the paired
        differences, with ``_vs_reference_low``/``_high``); the mean shares receiving; and
        ``seeds_flagged`` (share of seeds in which a category is flagged under Art. 10).
    """
    rows = []
    for (scenario, plan), group in runs.groupby(["scenario", "plan"], sort=True):
        row = {"scenario": scenario, "plan": plan, "seeds": len(group)}
        base = None
        if reference is not None and plan != reference:
            base = runs[(runs["scenario"] == scenario) & (runs["plan"] == reference)]
            base = base.set_index("seed")
        for key in GAPS:
            mean, low, high = _interval(group[key].to_numpy(dtype=float), alpha)
            row.update({key: mean, f"{key}_low": low, f"{key}_high": high})
            if base is not None:
                paired = group.set_index("seed")[key] - base[key].reindex(group["seed"]).to_numpy()
                mean, low, high = _interval(paired.to_numpy(dtype=float), alpha)
            elif plan == reference and np.isfinite(group[key].to_numpy(dtype=float)).any():
                mean = low = high = 0.0
            else:
                mean = low = high = np.nan
            row.update(
                {
                    f"{key}_vs_reference": mean,
                    f"{key}_vs_reference_low": low,
                    f"{key}_vs_reference_high": high,
                }
            )
        for column in ("share_women_receiving", "share_men_receiving"):
            row[column] = float(group[column].mean())
        row["seeds_flagged"] = float((group["categories_flagged"] > 0).mean())
        rows.append(row)
    return pd.DataFrame(rows)
