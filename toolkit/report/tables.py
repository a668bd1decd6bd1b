"""The report's tables: tidy frames for figures and tests, styled frames for the reader."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from toolkit.behaviour.levers import GAMING_LEVERS, OPERATIONAL_LEVERS
from toolkit.compliance.pay_gap import MEAN_GAP, VARIABLE_MEAN_GAP
from toolkit.metrics import CATALOGUE
from toolkit.report.data import Batch
from toolkit.report.pay_gaps import scenario_pay_gaps
from toolkit.report.ranking import VERDICTS, net_value_ranking

LEVERS = OPERATIONAL_LEVERS + GAMING_LEVERS
GAP_KPIS = {
    "mttr_mean_hours": "MTTR",
    "sla_attainment": "SLA attainment",
    "incident_volume": "Incident volume",
    "availability": "Availability",
    "change_success_rate": "Change success rate",
    "change_throughput": "Change throughput",
}
# ranking or summary column -> (label, scale, format); {money} becomes the currency
PLAN_COLUMNS = {
    "rank": ("Rank by net value", 1, "{:.0f}"),
    "verdict": ("Verdict", 1, "{}"),
    "net_value": ("Net value vs reference ({money})", 1, "{:,.0f}"),
    "ci_low": ("Net value, 95% interval low ({money})", 1, "{:,.0f}"),
    "ci_high": ("Net value, 95% interval high ({money})", 1, "{:,.0f}"),
    "gaming_index": ("Gaming index (points)", 1, "{:.1f}"),
    "total_awards": ("Total awards ({money})", 1, "{:,.0f}"),
    "awards_per_loss_avoided": ("Awards per {money} of loss avoided", 1, "{:.2f}"),
    "business_loss": ("Business loss ({money})", 1, "{:,.0f}"),
    "delivery_value": ("Delivery value ({money})", 1, "{:,.0f}"),
    "true_health": ("True health (pre-plan loss / plan loss x 100)", 1, "{:.1f}"),
    "reported_score_mean": ("Reported score (% of target)", 1, "{:.1f}"),
    "true_score_mean": ("True score (% of target)", 1, "{:.1f}"),
    "risk_aversion_vs_reference": (
        "Risk aversion: change pace held back vs reference (%)",
        100,
        "{:.1f}",
    ),
    "awards_gini_teams": ("Gini of awards across teams", 1, "{:.2f}"),
    "gender_gap_awards": ("Gender gap in awards (%)", 100, "{:.1f}"),
    VARIABLE_MEAN_GAP: ("Gender gap in variable pay, Art. 9(1)(b) (%)", 1, "{:.1f}"),
    f"{MEAN_GAP}_vs_reference": ("Gender pay gap vs reference (points)", 1, "{:+.1f}"),
    "liability_p50": ("Liability at horizon, P50 ({money})", 1, "{:,.0f}"),
    "liability_p90": ("Liability at horizon, P90 ({money})", 1, "{:,.0f}"),
    "seeds": ("Seeds", 1, "{:.0f}"),
}
INTERVAL = "Net value, 95% interval ({money})"
NO_IMPROVEMENT = "no loss avoided"
DIFFERENCE_COLUMNS = {
    "net_value": ("Net value ({money})", "{:+,.0f}"),
    "business_loss": ("Business loss ({money})", "{:+,.0f}"),
    "delivery_value": ("Delivery value ({money})", "{:+,.0f}"),
    "total_awards": ("Total awards ({money})", "{:+,.0f}"),
    "gaming_index": ("Gaming index (points)", "{:+.2f}"),
    "true_health": ("True health (points)", "{:+.2f}"),
}


def money_label(batch: Batch) -> str:
    """Return the currency of the batch's scenarios, or ``money`` when unknown or mixed."""
    currencies = {batch.currency(scenario) for scenario in batch.scenarios}
    return currencies.pop() if len(currencies) == 1 and "" not in currencies else "money"


def _styled(table: pd.DataFrame, formats: dict | None = None) -> Styler:
    """Format a display table for the report: no index, fixed decimals, dashes for gaps.

    Every text cell and column heading is HTML-escaped: plan and scenario names come from
    users' files.
    """
    styled = table.style.format(formats or {}, na_rep="–", escape="html")
    return styled.format_index(escape="html", axis=1).hide(axis="index")


def ranking_of(batch: Batch, scenario: str, gaming_threshold: float = 5.0) -> pd.DataFrame:
    """Return one scenario's plans ranked by net value (:func:`net_value_ranking`)."""
    return net_value_ranking(
        batch.summary_of(scenario),
        batch.comparisons[batch.comparisons["scenario"] == scenario],
        batch.reference,
        gaming_threshold,
    )


def plan_comparison(batch: Batch, gaming_threshold: float = 5.0) -> pd.DataFrame:
    """Return the plans of each scenario ranked by net value, with readable names and units.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    gaming_threshold : float
        Largest acceptable gaming index; plans above it are set aside, listed last unranked.

    Returns
    -------
    DataFrame
        One row per scenario and plan in ranking order: the ranking's rank, verdict, net
        value and its 95% interval, then the summary's means and the gender pay gaps each
        plan would create (:mod:`toolkit.report.pay_gaps`: the Art. 9(1)(b) variable-pay gap
        over recipients, and the change in the Art. 9(1)(a) gap against the reference in
        percentage points; positive widens it). The scenario column is left
        out when the report covers one scenario; shares are shown as percentages.
    """
    money = money_label(batch)
    rows = []
    for scenario in batch.scenarios:
        ranking = ranking_of(batch, scenario, gaming_threshold)
        summary = batch.summary_of(scenario)
        table = ranking.join(summary.drop(columns=ranking.columns, errors="ignore"))
        gaps = scenario_pay_gaps(batch, scenario)
        table = table.join(gaps[[c for c in PLAN_COLUMNS if c in gaps and c not in table]])
        row = pd.DataFrame({"Scenario": scenario, "Plan": table.index})
        for column, (label, scale, _) in PLAN_COLUMNS.items():
            if column not in table:
                values = float("nan")
            elif column == "verdict":
                values = table[column].to_numpy()
            else:
                values = (table[column] * scale).to_numpy()
            row[label.format(money=money)] = values
        rows.append(row)
    table = pd.concat(rows, ignore_index=True)
    return table.drop(columns="Scenario") if len(batch.scenarios) == 1 else table


def plan_table(batch: Batch, gaming_threshold: float = 5.0) -> Styler:
    """Return the ranked plan comparison, formatted for the report.

    The net value's interval is one column, ``[low, high]``; a plan that avoids no loss shows
    ``no loss avoided`` as its price of improvement, the reference a dash.
    """
    money = money_label(batch)
    label = {column: text.format(money=money) for column, (text, _, _) in PLAN_COLUMNS.items()}
    formats = {label[column]: fmt for column, (_, _, fmt) in PLAN_COLUMNS.items()}
    table = plan_comparison(batch, gaming_threshold)
    low, high = table.pop(label["ci_low"]), table.pop(label["ci_high"])
    amount = formats[label["net_value"]]
    table.insert(
        table.columns.get_loc(label["net_value"]) + 1,
        INTERVAL.format(money=money),
        [
            f"[{amount.format(a)}, {amount.format(b)}]" if pd.notna(a) and pd.notna(b) else "–"
            for a, b in zip(low, high, strict=True)
        ],
    )
    price = label["awards_per_loss_avoided"]
    unpriced = table[price].isna() & (table[label["verdict"]] != VERDICTS["reference"])
    styled = _styled(table, {name: fmt for name, fmt in formats.items() if name in table})
    return styled.format(lambda _: NO_IMPROVEMENT, subset=(table.index[unpriced], [price]))


def differences(batch: Batch) -> pd.DataFrame:
    """Return the paired differences against the reference, one row per scenario and plan.

    Each metric has a text column ``mean [low, high]`` (95% interval) and a boolean column
    ``<label> clear`` that is True where the interval excludes zero.
    """
    money = money_label(batch)
    rows = []
    for (scenario, plan), group in batch.comparisons.groupby(["scenario", "plan"], sort=True):
        row = {"Scenario": scenario, "Plan": plan, "Seed pairs": int(group["pairs"].max())}
        by_metric = group.set_index("metric")
        for metric, (label, fmt) in DIFFERENCE_COLUMNS.items():
            name = label.format(money=money)
            if metric not in by_metric.index:
                row[name], row[f"{name} clear"] = "–", False
                continue
            mean, low, high = by_metric.loc[metric, ["mean_difference", "ci_low", "ci_high"]]
            row[name] = f"{fmt.format(mean)} [{fmt.format(low)}, {fmt.format(high)}]"
            row[f"{name} clear"] = bool(low > 0 or high < 0)
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(batch.scenarios) == 1 and len(table):
        table = table.drop(columns="Scenario")
    return table


def difference_table(batch: Batch) -> Styler:
    """Return the paired differences, intervals that exclude zero in bold."""
    table = differences(batch)
    flags = [column for column in table.columns if column.endswith(" clear")]
    shown = table.drop(columns=flags)

    def bold(frame: pd.DataFrame) -> pd.DataFrame:
        styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for flag in flags:
            styles.loc[table[flag].to_numpy(), flag.removesuffix(" clear")] = "font-weight: bold"
        return styles

    return _styled(shown).apply(bold, axis=None)


def plan_period_start(batch: Batch, scenario: str) -> dict[str, str | None]:
    """Return each plan's first plan period: its first cohort's grant period, None if none."""
    liability = batch.run_table("liability")
    liability = liability[liability["scenario"] == scenario]
    first = liability.groupby("plan")["cohort"].min()
    return {plan: first.get(plan) for plan in batch.plans(scenario)}


def kpi_gaps(batch: Batch, scenario: str, kpis: tuple[str, ...] = tuple(GAP_KPIS)) -> pd.DataFrame:
    """Return how much better the reported organisation KPIs look than the true ones.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    scenario : str
        The scenario.
    kpis : tuple of str
        KPIs of the catalogue.

    Returns
    -------
    DataFrame
        ``plan``, ``kpi``, ``true`` and ``reported`` (means over seeds and plan periods, at
        organisation level) and ``gap_pct``: the mean over seeds and plan periods of
        (reported − true) / true in %, sign turned for lower-is-better KPIs, so that a
        positive gap always means the record flatters.
    """
    table = batch.run_table("kpis")
    org = table[
        (table["scenario"] == scenario)
        & (table["team_id"] == "ALL")
        & (table["service_id"] == "ALL")
        & table["kpi"].isin(kpis)
    ]
    wide = org.pivot_table(
        index=["plan", "seed", "period", "kpi"], columns="view", values="value"
    ).reset_index()
    start = wide["plan"].map(plan_period_start(batch, scenario)).fillna("")
    wide = wide[wide["period"] >= start]
    sign = wide["kpi"].map(lambda kpi: -1.0 if CATALOGUE[kpi].direction == "lower" else 1.0)
    true = wide["true"].where(wide["true"] != 0)
    wide["gap_pct"] = 100 * sign * (wide["reported"] - true) / true.abs()
    result = wide.groupby(["plan", "kpi"], as_index=False)[["true", "reported", "gap_pct"]].mean()
    result.columns.name = None
    rank = {
        "plan": {plan: i for i, plan in enumerate(batch.plans(scenario))},
        "kpi": {kpi: i for i, kpi in enumerate(kpis)},
    }
    result = result.sort_values(["plan", "kpi"], key=lambda column: column.map(rank[column.name]))
    return result.reset_index(drop=True)


def kpi_gap_table(batch: Batch) -> Styler:
    """Return the KPI gaps (%) as plans × KPIs, per scenario, formatted for the report."""
    parts = []
    for scenario in batch.scenarios:
        gaps = kpi_gaps(batch, scenario)
        wide = gaps.pivot(index="plan", columns="kpi", values="gap_pct")
        wide = wide.reindex(index=batch.plans(scenario), columns=list(GAP_KPIS))
        wide.columns = [f"{GAP_KPIS[kpi]} (%)" for kpi in wide.columns]
        wide.insert(0, "Plan", wide.index)
        wide.insert(0, "Scenario", scenario)
        parts.append(wide.reset_index(drop=True))
    table = pd.concat(parts, ignore_index=True)
    if len(batch.scenarios) == 1:
        table = table.drop(columns="Scenario")
    formats = {column: _signed for column in table.columns if column.endswith("(%)")}
    return _styled(table, formats)


def _signed(value: float) -> str:
    """Format a gap with its sign and one decimal, without a negative zero."""
    return f"{round(value, 1) + 0.0:+.1f}"


def behaviour_trajectories(batch: Batch, scenario: str) -> pd.DataFrame:
    """Return every lever per plan and period, averaged over teams and seeds (long format)."""
    table = batch.run_table("behaviour")
    rows = table[table["scenario"] == scenario]
    means = rows.groupby(["plan", "period"], as_index=False)[list(LEVERS)].mean()
    return means.melt(id_vars=["plan", "period"], var_name="lever", value_name="value")


def award_shares(batch: Batch, scenario: str) -> pd.DataFrame:
    """Return each person's earned awards per plan and seed, also as % of base salary.

    Earned awards include accruals of cohorts still open at the horizon's end (not yet
    vested), as ``total_awards`` does.
    """
    table = batch.run_table("awards")
    rows = table[table["scenario"] == scenario]
    people = rows.groupby(["plan", "seed", "person_id"], as_index=False).agg(
        team_id=("team_id", "first"),
        gender=("gender", "first"),
        base_salary=("base_salary", "first"),
        earned=("earned", "sum"),
    )
    people["earned_pct"] = 100 * people["earned"] / people["base_salary"]
    return people
