"""The report's money sections: the liability forecast against the cap, and cost by unit.

The numbers come from :mod:`toolkit.finance.forecast` and :mod:`toolkit.finance.transparency`
on the batch's runs; this module reads the runs, shapes the tables and draws the figures, for
the decision report (:func:`forecast_table`, :func:`forecast_figure`, :func:`cost_table`,
:func:`cost_figure`) and for the stand-alone finance page ``lti finance`` writes
(:func:`finance_page`). Runs whose plan or scenario file is gone or has changed since the batch
ran cannot be forecast (their schedule and cap are unknown) and are left out, as the liability
run-off leaves them out.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from pandas.io.formats.style import Styler

from toolkit.finance.accruals import LedgerTables
from toolkit.finance.forecast import LedgerRun, forecast_summary
from toolkit.finance.rollforward import ROLL_COLUMNS, summarise_roll_forward
from toolkit.finance.transparency import COST_MONEY, cost_statement, run_costs
from toolkit.report.data import Batch, run_directory
from toolkit.report.escaping import md_code, md_text, mpl_text
from toolkit.report.tables import _styled, money_label

COST_LABELS = {
    "earned": "Earned awards",
    "paid": "Paid",
    "liability": "Owed at the horizon's end",
}
PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:75em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}"
    "th{background:#f0f0f0}img{max-width:100%}"
)
REPORT_SCORE = "to_date"  # the decision report completes open windows at the score to date
PAGE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def ledger_runs(batch: Batch, scenario: str | None = None) -> list[LedgerRun]:
    """Return the batch's runs with their ledger tables and models, for the finance functions.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    scenario : str, optional
        Only this scenario's runs.

    Returns
    -------
    list of LedgerRun
        In ``runs.parquet`` order; runs whose plan or scenario file is gone or has changed
        are left out.
    """
    runs = []
    for row in batch.runs[["scenario", "plan", "seed", "directory"]].itertuples(index=False):
        if scenario is not None and row.scenario != scenario:
            continue
        plan, model = batch.plan_model(row.plan), batch.scenario_model(row.scenario)
        if plan is None or model is None:
            continue
        tables = LedgerTables.read(run_directory(batch.directory, row.directory))
        runs.append(LedgerRun(row.scenario, row.plan, int(row.seed), tables, plan, model))
    return runs


def _cap_text(cap: float, money: str) -> str:
    if not math.isfinite(cap):
        return "no cap" if not np.isnan(cap) else "caps differ"
    return f"{money} {cap:,.0f}".strip()


def forecast_display(summary: pd.DataFrame, money: str) -> pd.DataFrame:
    """Return a forecast summary with readable column names, for a table.

    Parameters
    ----------
    summary : DataFrame
        From :func:`toolkit.finance.forecast.forecast_summary`.
    money : str
        The currency label.

    Returns
    -------
    DataFrame
        One row per scenario, plan and year: paid P10/P50/P90, the parts paid after the
        horizon and earned after it, the budget P50/P90 (vesting before the cap), the cap as
        text and P(cap binds) in %.
    """
    table = pd.DataFrame(
        {
            "Scenario": summary["scenario"],
            "Plan": summary["plan"],
            "Year": summary["year"].astype(int),
            "After the horizon": np.where(summary["projected"], "yes", "no"),
            f"Paid P10 ({money})": summary["paid_p10"],
            f"Paid P50 ({money})": summary["paid_p50"],
            f"Paid P90 ({money})": summary["paid_p90"],
            f"Of which after the horizon, mean ({money})": summary["run_off_mean"],
            f"Of which future service, mean ({money})": summary["future_service_mean"],
            f"Budget P50: vesting before cap ({money})": summary["budget_p50"],
            f"Budget P90 ({money})": summary["budget_p90"],
            "Cap per year": [_cap_text(cap, money) for cap in summary["cap"]],
            "P(cap binds) (%)": 100 * summary["p_cap_binds"],
            "Seeds": summary["seeds"],
        }
    )
    return table.reset_index(drop=True)


def _money_formats(table: pd.DataFrame, money: str) -> dict:
    formats = {column: "{:,.0f}" for column in table.columns if f"({money})" in column}
    formats.update({"P(cap binds) (%)": "{:.0f}", "Seeds": "{:.0f}"})
    return {column: fmt for column, fmt in formats.items() if column in table.columns}


def batch_forecast(batch: Batch) -> pd.DataFrame:
    """Return :func:`~toolkit.finance.forecast.forecast_summary` of the batch's runs.

    Windows still open at the horizon's end are completed at each cohort's score to date
    (``expected_score="to_date"``), so that the forecast is what the plan will pay, not only
    what it owes at the horizon's end.
    """
    return forecast_summary(ledger_runs(batch), expected_score=REPORT_SCORE)


def forecast_table(batch: Batch) -> Styler:
    """Return the forecast per plan and payment year (P10/P50/P90, budget, cap), for the report.

    Plans that pay nothing have no rows; the scenario column is left out for one scenario.
    """
    money = money_label(batch)
    table = forecast_display(batch_forecast(batch), money)
    if len(batch.scenarios) == 1:
        table = table.drop(columns="Scenario")
    return _styled(table, _money_formats(table, money))


def forecast_bars(summary: pd.DataFrame, plans: Sequence[str], money: str, where: str) -> Figure:
    """Plot what each plan pays per year: P50 bars with P10–P90 whiskers, and the cap.

    Parameters
    ----------
    summary : DataFrame
        Forecast summary rows of one scenario.
    plans : sequence of str
        The plans to draw, in order (plans without rows are left out).
    money : str
        The currency label.
    where : str
        The scenario, for the title.

    Returns
    -------
    Figure
        One panel per plan; hatched bars are years (partly) after the horizon, diamonds the
        budget P90 (vesting before the cap), the dashed line the cap when it is on the scale.
    """
    paying = [plan for plan in plans if plan in set(summary["plan"])]
    columns = min(3, max(1, len(paying)))
    rows = int(np.ceil(max(1, len(paying)) / columns))
    fig = Figure(figsize=(4.8 * columns, 3.9 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    fig.suptitle(
        f"Payments per year over seeds: P50 bar, P10–P90 whisker; hatched: after the horizon "
        f"({mpl_text(where)})"
    )
    if not paying:
        axes[0].text(0.5, 0.5, "No plan pays anything", ha="center", va="center")
        axes[0].axis("off")
        return fig
    colours = colormaps["tab10"].colors
    for i, (ax, plan) in enumerate(zip(axes, paying, strict=False)):
        rows_ = _every_year(summary[summary["plan"] == plan])
        x = np.arange(len(rows_))
        mid = rows_["paid_p50"].to_numpy()
        errors = [mid - rows_["paid_p10"].to_numpy(), rows_["paid_p90"].to_numpy() - mid]
        bars = ax.bar(x, mid, color=colours[i % len(colours)], alpha=0.75, label="paid, P50")
        for bar, projected in zip(bars, rows_["projected"], strict=True):
            if projected:
                bar.set_hatch("//")
        ax.errorbar(x, mid, yerr=errors, fmt="none", ecolor="black", capsize=3)
        vests = (rows_["budget_p90"] > 0).to_numpy()
        ax.scatter(
            x[vests],
            rows_["budget_p90"].to_numpy()[vests],
            marker="D",
            color="black",
            zorder=3,
            label="budget P90 (vesting before the cap)",
        )
        cap = float(rows_["cap"].iloc[0])
        top = float(max(rows_["paid_p90"].max(), rows_["budget_p90"].max()))
        binds = float(rows_["p_cap_binds"].max())
        if math.isfinite(cap) and cap <= 1.5 * top:
            ax.axhline(cap, color="0.3", linestyle="--", label="cap")
        limit = _cap_text(cap, money) if not math.isfinite(cap) else f"cap {_cap_text(cap, money)}"
        ax.set_title(
            f"{mpl_text(plan)}: {mpl_text(limit)}, P(cap binds) up to {binds:.0%}",
            fontsize="medium",
        )
        ax.set_xticks(x, rows_["year"].astype(int).astype(str).tolist())
        ax.set_ylabel(f"Paid in the year ({money})")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        ax.legend(loc="best", fontsize="small")
    for ax in axes[len(paying) :]:
        ax.axis("off")
    return fig


def _every_year(rows: pd.DataFrame) -> pd.DataFrame:
    """Return one plan's summary rows for every year from the first to the last, zeros between."""
    years = np.arange(int(rows["year"].min()), int(rows["year"].max()) + 1)
    full = rows.set_index("year").reindex(years)
    money = [c for c in full.columns if c.startswith(("paid_", "budget_")) or c == "run_off_mean"]
    full[money] = full[money].fillna(0.0)
    full["projected"] = full["projected"].astype("boolean").fillna(False).astype(bool)
    full["p_cap_binds"] = full["p_cap_binds"].fillna(0.0)
    full["cap"] = full["cap"].fillna(float(rows["cap"].iloc[0]))
    return full.rename_axis("year").reset_index()


def forecast_figure(batch: Batch, scenario: str) -> Figure:
    """Plot one scenario's payment forecast per plan and year (:func:`forecast_bars`)."""
    summary = forecast_summary(ledger_runs(batch, scenario), expected_score=REPORT_SCORE)
    return forecast_bars(summary, batch.plans(scenario), money_label(batch), scenario)


def forecast_note(batch: Batch) -> str:
    """Say, per plan, what the forecast pays in all, its peak year and where the cap binds.

    Returns
    -------
    str
        Markdown, names escaped.
    """
    summary = batch_forecast(batch)
    money = money_label(batch)
    lines = []
    for (scenario, plan), rows in summary.groupby(["scenario", "plan"], sort=True):
        where = f" in {md_code(scenario)}" if len(batch.scenarios) > 1 else ""
        peak = rows.loc[rows["paid_p50"].idxmax()]
        text = (
            f"- {md_code(plan)}{where}: {money} {rows['paid_mean'].sum():,.0f} paid in all "
            f"(mean over seeds; {money} {rows['future_service_mean'].sum():,.0f} of it for "
            f"service after the horizon), most in {int(peak['year'])} "
            f"(P50 {money} {peak['paid_p50']:,.0f}, P90 {money} {peak['paid_p90']:,.0f})"
        )
        binding = rows[rows["p_cap_binds"] > 0]
        if not math.isfinite(float(rows["cap"].iloc[0])):
            text += "; the plan has no cap."
        elif binding.empty:
            text += (
                f"; the cap ({_cap_text(float(rows['cap'].iloc[0]), money)}) binds in no "
                f"seed, the smallest headroom at P90 is {money} "
                f"{rows['headroom_p90'].min():,.0f}."
            )
        else:
            years = ", ".join(
                f"{int(row.year)} ({row.p_cap_binds:.0%} of seeds)"
                for row in binding.itertuples(index=False)
            )
            text += f"; the cap binds in {md_text(years)}: awards are scaled down there."
        lines.append(text)
    return "\n".join(lines) if lines else "No plan pays anything, inside the horizon or after."


def batch_costs(batch: Batch) -> pd.DataFrame:
    """Return :func:`~toolkit.finance.transparency.run_costs` of the batch's runs."""
    return run_costs(ledger_runs(batch))


def cost_display(statement: pd.DataFrame, money: str) -> pd.DataFrame:
    """Return a cost statement with readable column names, for a table.

    Parameters
    ----------
    statement : DataFrame
        From :func:`toolkit.finance.transparency.cost_statement`.
    money : str
        The currency label.

    Returns
    -------
    DataFrame
        ``Scenario``, ``Plan``, the unit (and service) and the money columns.
    """
    names = {
        "scenario": "Scenario",
        "plan": "Plan",
        "business_unit": "Business unit",
        "service_id": "Service",
        "team_id": "Team",
    }
    names.update({column: f"{label} ({money})" for column, label in COST_LABELS.items()})
    shown = [column for column in names if column in statement.columns]
    return statement[shown].rename(columns=names).reset_index(drop=True)


def cost_table(batch: Batch, by: Sequence[str] = ("business_unit",)) -> Styler:
    """Return the awards charged per business unit (or service), mean over seeds, for the report.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    by : sequence of str
        ``("business_unit",)`` or ``("business_unit", "service_id")``.
    """
    money = money_label(batch)
    statement = cost_statement(batch_costs(batch), by)
    table = cost_display(statement, money)
    if len(batch.scenarios) == 1:
        table = table.drop(columns="Scenario")
    return _styled(table, _money_formats(table, money))


def cost_bars(statement: pd.DataFrame, plans: Sequence[str], money: str, where: str) -> Figure:
    """Plot earned, paid and owed awards per plan, stacked by business unit.

    Parameters
    ----------
    statement : DataFrame
        A cost statement by business unit of one scenario.
    plans : sequence of str
        The plans, in order.
    money : str
        The currency label.
    where : str
        The scenario, for the title.

    Returns
    -------
    Figure
        One panel per money column (:data:`~toolkit.finance.transparency.COST_MONEY`), a
        horizontal bar per plan, a segment per business unit.
    """
    units = sorted(statement["business_unit"].unique())
    colours = colormaps["Set2"].colors
    fig = Figure(figsize=(13, 1.2 + 0.55 * max(3, len(plans))), layout="constrained")
    fig.suptitle(
        f"Awards charged to business units through the services teams own, mean over seeds "
        f"({mpl_text(where)})"
    )
    if statement.empty:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "No run of a known plan and scenario to charge", ha="center")
        ax.axis("off")
        return fig
    axes = fig.subplots(1, len(COST_MONEY), sharey=True)
    y = np.arange(len(plans))
    for ax, column in zip(axes, COST_MONEY, strict=True):
        wide = statement.pivot_table(
            index="plan", columns="business_unit", values=column, aggfunc="sum"
        ).reindex(index=list(plans), columns=units)
        left = np.zeros(len(plans))
        for j, unit in enumerate(units):
            values = wide[unit].fillna(0.0).to_numpy()
            ax.barh(y, values, left=left, color=colours[j % len(colours)], label=mpl_text(unit))
            left += values
        ax.set_title(COST_LABELS[column])
        ax.set_xlabel(money)
        if left.any():
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        else:
            ax.set_xlim(0, 1)
            ax.set_xticks([])
            ax.text(0.5, (len(plans) - 1) / 2, "nothing", ha="center", va="center", color="0.4")
    axes[0].set_yticks(y, [mpl_text(plan) for plan in plans])
    axes[0].invert_yaxis()
    axes[-1].legend(loc="best", fontsize="small", title="business unit")
    return fig


def cost_figure(batch: Batch, scenario: str) -> Figure:
    """Plot one scenario's awards by business unit per plan (:func:`cost_bars`)."""
    statement = cost_statement(run_costs(ledger_runs(batch, scenario)))
    return cost_bars(statement, batch.plans(scenario), money_label(batch), scenario)


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def finance_page(
    title: str,
    rollforward: pd.DataFrame,
    summary: pd.DataFrame,
    statement: pd.DataFrame,
    money: str,
) -> str:
    """Return a self-contained, script-free HTML finance report.

    Parameters
    ----------
    title : str
        The page's heading (escaped).
    rollforward : DataFrame
        :func:`toolkit.finance.rollforward.roll_forward` of the run accrued; shown per
        quarter and business unit, then per quarter.
    summary : DataFrame
        :func:`~toolkit.finance.forecast.forecast_summary` of the runs forecast.
    statement : DataFrame
        :func:`~toolkit.finance.transparency.cost_statement` by business unit and service.
    money : str
        The currency label.

    Returns
    -------
    str
        HTML with inline styles and PNG figures only, under a content security policy that
        forbids scripts and remote resources.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">',
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Liability forecast</h2>",
        "<p>What each plan pays per calendar year over the seeds of the batch (P10, P50, P90), "
        "including the run-off after the horizon (and, where the table shows it, what windows "
        "still open are expected to earn after it), the budget the year's vesting needs before "
        "the cap, and the share of seeds where the cap binds (the ledger scaled the year's "
        "vesting down to it, or the run-off's vesting exceeds it).</p>",
    ]
    table = forecast_display(summary, money)
    parts.append(_styled(table, _money_formats(table, money)).to_html())
    for scenario, rows in summary.groupby("scenario", sort=True):
        fig = forecast_bars(rows, sorted(rows["plan"].unique()), money, scenario)
        alt = html.escape(fig.get_suptitle(), quote=True)
        parts.append(f'<img alt="{alt}" src="data:image/png;base64,{_png(fig)}">')
    parts += [
        "<h2>Cost by business unit and service</h2>",
        "<p>Awards earned, paid and owed at the horizon's end, charged to the services each "
        "team owns in proportion to their budgets and through them to business units; means "
        "over seeds.</p>",
    ]
    by_unit = statement.groupby(["scenario", "plan", "business_unit"], as_index=False)[
        list(COST_MONEY)
    ].sum()
    for frame in (by_unit, statement):
        shown = cost_display(frame, money)
        parts.append(_styled(shown, _money_formats(shown, money)).to_html())
    for scenario, rows in by_unit.groupby("scenario", sort=True):
        fig = cost_bars(rows, sorted(rows["plan"].unique()), money, scenario)
        alt = html.escape(fig.get_suptitle(), quote=True)
        parts.append(f'<img alt="{alt}" src="data:image/png;base64,{_png(fig)}">')
    parts += [
        "<h2>Quarterly roll-forward</h2>",
        "<p>closing = opening + service cost + change in estimate − forfeitures − malus − "
        "payments; a clawback lowers the expense and returns cash. Per quarter and business "
        "unit, then for all units.</p>",
    ]
    for by in (["quarter", "business_unit"], ["quarter"]):
        rolled = summarise_roll_forward(rollforward, by)
        amounts = {column: "{:,.2f}" for column in ROLL_COLUMNS}
        parts.append(_styled(rolled, amounts).to_html())
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
