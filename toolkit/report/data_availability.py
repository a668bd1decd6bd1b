"""Late and missing data in the decision report: what was provisional and what changed.

Each run of a batch records, per plan period and team, whether its data met the feeds'
deadlines (``data_availability.parquet``, :mod:`toolkit.run.data_availability`). The report
shows a section only when a scenario has feeds a plan depends on: per plan, the share of
team-periods on time, provisional, held and missing, how far the true-ups moved the scores,
and the money they moved.
"""

from __future__ import annotations

import pandas as pd

from toolkit.report.data import Batch, run_directory
from toolkit.report.escaping import md_code, md_text

TABLE = "data_availability"
STATUS_COLUMNS = {
    "on_time": "On time (%)",
    "provisional": "Provisional (%)",
    "held": "Held (%)",
    "missing": "Missing (%)",
}


def _cell(text: str) -> str:
    """Return Markdown for a table cell: a ``|`` in a name would end the cell."""
    return text.replace("|", "\\|")


def _recorded(batch: Batch) -> pd.DataFrame | None:
    """Return every run's record stacked, or None for a batch written before feeds existed."""
    for directory in batch.runs["directory"]:
        if not (run_directory(batch.directory, directory) / f"{TABLE}.parquet").is_file():
            return None
    return batch.run_table(TABLE)


def availability_summary(batch: Batch) -> pd.DataFrame:
    """Summarise late and missing data per scenario and plan over every seed.

    Parameters
    ----------
    batch : Batch
        A loaded batch.

    Returns
    -------
    DataFrame
        One row per scenario and plan with feeds the plan depends on: ``scenario``, ``plan``,
        ``team_periods`` (rows over seeds), the % of them ``on_time``, ``provisional``,
        ``held`` and ``missing``, ``pending`` (% still unsettled at the horizon's end),
        ``mean_abs_change`` (points between booked and final score, over the late rows
        settled), ``max_abs_change`` and ``true_up_per_seed`` (net money the true-ups moved,
        mean over seeds, before pool and cap scaling). Empty when no run has feeds.
    """
    columns = [
        "scenario",
        "plan",
        "team_periods",
        *STATUS_COLUMNS,
        "pending",
        "mean_abs_change",
        "max_abs_change",
        "true_up_per_seed",
    ]
    record = _recorded(batch)
    if record is None or record.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (scenario, plan), group in record.groupby(["scenario", "plan"], sort=False):
        shares = group["status"].value_counts(normalize=True) * 100
        settled = group[(group["status"] != "on_time") & (group["settled_period"] != "")]
        change = (settled["final_score_pct"] - settled["booked_score_pct"]).abs()
        rows.append(
            {
                "scenario": scenario,
                "plan": plan,
                "team_periods": len(group),
                **{status: float(shares.get(status, 0.0)) for status in STATUS_COLUMNS},
                "pending": float((group["settled_period"] == "").mean() * 100),
                "mean_abs_change": float(change.mean()) if len(change) else 0.0,
                "max_abs_change": float(change.max()) if len(change) else 0.0,
                "true_up_per_seed": float(group.groupby("seed")["true_up"].sum().mean()),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def availability_markdown(batch: Batch) -> str:
    """Return the report's section on late and missing data, or ``""`` without feeds.

    Parameters
    ----------
    batch : Batch
        A loaded batch.

    Returns
    -------
    str
        A Markdown heading, a paragraph computed from :func:`availability_summary` and a
        table per plan; empty when no scenario of the batch has feeds its plans depend on.
    """
    summary = availability_summary(batch)
    if summary.empty:
        return ""
    several = summary["scenario"].nunique() > 1
    late = summary[["provisional", "held", "missing"]].sum(axis=1)
    worst = summary.loc[late.idxmax()]
    where = f" in {md_code(worst['scenario'])}" if several else ""
    money = batch.currency(worst["scenario"])
    text = [
        "## Late and missing data",
        "",
        "Each team's score for a period waits for the data feeds its KPIs come from. A period "
        "whose data missed a feed's deadline was booked as the plan says (**provisional** on "
        "the last known score and trued up when the data arrived, or **held** until then), "
        "and a period whose data never came was settled by the plan's missing-data rule.",
        "",
        f"The most affected plan is {md_code(worst['plan'])}{where}: "
        f"{late.max():.0f} % of its {int(worst['team_periods'])} team-periods were not on time "
        f"({worst['missing']:.0f} % missing), the true-ups moved the booked scores by "
        f"{worst['mean_abs_change']:.1f} points on average (at most "
        f"{worst['max_abs_change']:.1f}) and the ledger by {money} "
        f"{worst['true_up_per_seed']:+,.0f} per seed, net.".replace("  ", " "),
        "",
    ]
    header = ["Plan", *STATUS_COLUMNS.values(), "Pending (%)", "Mean change (points)"]
    header += [f"True-up per seed ({md_text(money)})"]
    if several:
        header.insert(0, "Scenario")
    text += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in summary.itertuples(index=False):
        cells = [_cell(md_code(row.plan))]
        cells += [f"{getattr(row, status):.0f}" for status in STATUS_COLUMNS]
        cells += [f"{row.pending:.0f}", f"{row.mean_abs_change:.1f}"]
        cells += [f"{row.true_up_per_seed:+,.0f}"]
        if several:
            cells.insert(0, _cell(md_code(row.scenario)))
        text.append("| " + " | ".join(cells) + " |")
    return "\n".join(text) + "\n"
