"""Course module 6: vendor and partner coordination, one helper set per topic.

The module-6 notebook runs the scenario once under a plan (:func:`example_run`) and reads that
run from six angles: the internal and the vendor calendars (6.1), penalties on joint failures
(6.2), the vendors' data deliveries (6.3), both sides' cash (6.4), a dispute reviewed jointly
with the vendor (6.5) and the subcontractors behind a vendor (6.6). Each topic has a table
builder, an interpretation written from the numbers and an exercise checker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from toolkit.config.loading import load_scenario
from toolkit.config.scenario import DataFeed, Scenario
from toolkit.course import data_availability as da
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.performance_metrics import scenario_path
from toolkit.course.wording import listing, money
from toolkit.finance import payout_timing, subcontractors, vendor_alignment
from toolkit.finance.vendor_credits import vendor_sla_table
from toolkit.governance import Governance
from toolkit.metrics.vendor_sla import unmeasured_note
from toolkit.plans import load_plan
from toolkit.run.data_availability import clause_due_days, draw_deliveries
from toolkit.run.loop import PlanRun, run_plan

ALIGNMENT_GOAL_PCT = 60.0  # 6.1: share of vendor-outage hours credited in the team's period
DAYS_PER_MONTH = 30  # 6.1, 6.4: a settlement month counts as 30 days against a report's due date
DATA_GOAL_PCT = 100.0  # 6.3: share of vendor-fed measures computable by the statement date
SHARE_TOLERANCE_PCT = 1.0  # 6.6: how close the learner's reading must be


@dataclass(frozen=True)
class VendorRun:
    """One run of the scenario under a plan, with its vendor SLA table.

    Parameters
    ----------
    scenario : Scenario
        The scenario run.
    run : PlanRun
        The run: truth, record, ledger.
    sla : DataFrame
        :func:`toolkit.finance.vendor_credits.vendor_sla_table` of the run.
    seed : int
        The seed it ran on.
    """

    scenario: Scenario
    run: PlanRun
    sla: pd.DataFrame
    seed: int


def scenario_model(scenario: Scenario | str | Path) -> Scenario:
    """Return a loaded scenario from a scenario, a shipped scenario's name or a file."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario_path(scenario))


def with_subcontractor_rate(scenario: Scenario, outages_per_year: float | None) -> Scenario:
    """Return the scenario with every subcontractor's outage rate set (unchanged for None).

    Why: subcontractor outages are rare (about one in two years in the shipped scenario), so
    a module that studies them on a two-year run asks for more of them.
    """
    if outages_per_year is None:
        return scenario
    data = scenario.model_dump()
    for vendor in data["organisation"]["vendors"]:
        for sub in vendor["subcontractors"]:
            sub["outage_rate_per_year"] = outages_per_year
    return Scenario.model_validate(data)


def example_run(
    scenario: Scenario | str | Path = "small",
    plan: str = "careful",
    seed: int = 0,
    subcontractor_outages_per_year: float | None = None,
) -> VendorRun:
    """Run the scenario under a plan once and measure its vendors.

    Parameters
    ----------
    scenario : Scenario, str or Path
        A scenario, a shipped scenario's name or a scenario file.
    plan : str
        A library plan's name or a plan file.
    seed : int
        The seed.
    subcontractor_outages_per_year : float, optional
        Every subcontractor's outage rate, per year (default: the scenario's).

    Returns
    -------
    VendorRun
    """
    model = with_subcontractor_rate(scenario_model(scenario), subcontractor_outages_per_year)
    run = run_plan(model, load_plan(plan), seed)
    return VendorRun(model, run, vendor_sla_table(model, run.truth, run.reported, seed), seed)


def introduction(example: VendorRun, plan: str) -> str:
    """Say what was run and which suppliers it measures."""
    vendors = example.scenario.organisation.vendors
    subs = [s.id for v in vendors for s in v.subcontractors]
    return (
        f"Scenario `{example.scenario.name}` under plan `{plan}`, seed {example.seed}: "
        f"{len(vendors)} vendor(s) ({listing([v.id for v in vendors])}) and "
        f"{len(subs)} subcontractor(s) ({listing(subs) if subs else 'none'}), each measured "
        f"per SLA period on the run's true and reported logs ({len(example.sla)} rows). "
        + unmeasured_note(example.sla, "measurable_true")
    ).strip()


# -- 6.1 internal cycles against vendor SLA periods ----------------------------------------------


def alignment_tables(example: VendorRun, lag_months: int = 1) -> dict[str, pd.DataFrame]:
    """Return the period map, the outages' accountability per vendor and the SLA-period effect."""
    truth = example.run.truth
    vendors = example.scenario.organisation.vendors
    vendor_period = vendors[0].contract.period if vendors and vendors[0].contract else "month"
    table = vendor_alignment.outage_accountability(example.scenario, truth, lag_months)
    return {
        "periods": vendor_alignment.period_alignment(
            truth.start, truth.end, example.scenario.horizon.period, vendor_period
        ),
        "outages": table,
        "summary": vendor_alignment.accountability_summary(table),
        "effect": vendor_alignment.sla_period_effect(example.scenario, truth),
    }


def interpret_alignment(tables: dict[str, pd.DataFrame], currency: str = "EUR") -> str:
    """Say who answered for the vendors' downtime, and what an aligned SLA period would change."""
    summary, effect = tables["summary"], tables["effect"]
    if summary.empty:
        return "No vendor outage happened in the run, so nobody had to answer for one."
    parts = [
        f"{row.vendor_id}: {row.service_hours:,.1f} service-hours of downtime counted against "
        f"the owning teams, {row.uncredited_pct:.0f} % of them in SLA periods that paid no credit, "
        f"and {row.other_period_pct:.0f} % credited in another internal period than the loss"
        for row in summary.itertuples()
    ]
    contract = effect[effect["sla_period"] == "contract"].set_index("vendor_id")["credit"]
    other = effect[effect["sla_period"] != "contract"]
    aligned = other.set_index("vendor_id")["credit"]
    label = other["sla_period"].iloc[0] if len(other) else "internal"
    moved = (aligned - contract).sum()
    return (
        "; ".join(parts)
        + f". Measured per {label} like the plan, the same outages would cost the vendors "
        f"{money(aligned.sum(), currency)} in credits instead of "
        f"{money(contract.sum(), currency)} ({'+' if moved >= 0 else '−'}"
        f"{money(abs(moved), currency)}): the SLA period decides how much of the downtime the "
        "vendor pays for, and the rest stays with the teams' KPIs."
    )


def report_due_days(scenario: Scenario) -> int:
    """Return the latest ``sla_report`` due date (days after the SLA period) of any contract."""
    days = [
        d.due_days_after_period_end
        for v in scenario.organisation.vendors
        if v.contract is not None
        for d in v.contract.data_deliveries
        if d.content == "sla_report"
    ]
    return max(days, default=0)


def check_alignment(
    example: VendorRun, lag_months: int, goal_pct: float = ALIGNMENT_GOAL_PCT
) -> Check:
    """Check a credit settlement lag: after the SLA report, and mostly in the loss's period.

    Parameters
    ----------
    example : VendorRun
        The run.
    lag_months : int
        Months after an SLA period its credit is settled.
    goal_pct : float
        Share of vendor-outage hours whose credit must land in the team's internal period.

    Returns
    -------
    Check
        Met when the lag leaves time for the vendor's SLA report and at least ``goal_pct``
        of the hours are credited in the internal period of the team's loss.
    """
    topic = "6.1"
    due = report_due_days(example.scenario)
    if lag_months * DAYS_PER_MONTH < due:
        return failed(
            topic,
            f"{lag_months} month(s) is before the vendors' SLA report is due ({due} days).",
            "A credit can only be settled once the report that measures it has arrived.",
        )
    summary = alignment_tables(example, lag_months)["summary"]
    hours = summary["service_hours"].sum()
    other = (summary["service_hours"] * summary["other_period_pct"]).sum() / 100
    same = 100 * (1 - other / hours) if hours > 0 else 100.0
    if same < goal_pct:
        return failed(
            topic,
            f"With {lag_months} month(s), {same:.0f} % of the hours are credited in the team's "
            f"period (goal: at least {goal_pct:.0f} %).",
            "Each month of delay pushes more months' credits into the next quarter.",
        )
    return passed(
        topic,
        f"Settled {lag_months} month(s) after the SLA period, after the report ({due} days), "
        f"{same:.0f} % of the vendor-outage hours are credited in the quarter of the loss.",
    )


# -- 6.2 penalty-sharing on joint failures -------------------------------------------------------

RULES = ("proportional", "primary_owner", "capped")
# A joint failure's penalty per priority: the business loss of a typical open incident, of the
# order the scenario's business impact prices an hour of a critical service (README, 6.2).
EXAMPLE_PENALTIES = {1: 5000.0, 2: 2000.0, 3: 500.0, 4: 100.0}
EXAMPLE_CAP_PCT = 5.0
SPLIT_TOLERANCE_PCT = 5.0  # 6.2: how far the vendor's share may stray from its contribution


def with_penalty_sharing(
    scenario: Scenario, rule: str, cap_pct: float = EXAMPLE_CAP_PCT, penalties=None
) -> Scenario:
    """Return the scenario with one penalty-sharing clause in every vendor contract."""
    data = scenario.model_dump()
    clause = {"rule": rule, "penalty_per_incident": dict(penalties or EXAMPLE_PENALTIES)}
    if rule == "capped":
        clause["cap_pct"] = cap_pct
    for vendor in data["organisation"]["vendors"]:
        if vendor.get("contract") is not None:
            vendor["contract"]["penalty_sharing"] = clause
    return Scenario.model_validate(data)


def penalty_rules_table(example: VendorRun, cap_pct: float = EXAMPLE_CAP_PCT) -> pd.DataFrame:
    """Split the run's true joint failures under each rule: what each side pays.

    Returns
    -------
    DataFrame
        Per ``rule, vendor_id``: ``incidents``, ``contribution_pct`` (the vendor's share of the
        penalty-weighted open time it caused), ``penalty``, ``vendor_penalty``,
        ``internal_penalty``, ``vendor_pct`` (the vendor's part in % of the penalty) and
        ``capped`` (periods where the cap bound).
    """
    from toolkit.finance.penalty_sharing import split_log
    from toolkit.metrics.vendor_sla import sla_parties

    rows = []
    for rule in RULES:
        model = with_penalty_sharing(example.scenario, rule, cap_pct)
        split = split_log(example.run.truth, sla_parties(model))
        for vendor_id, part in split.groupby("vendor_id", sort=True):
            penalty = part["penalty"].sum()
            weighted = (part["vendor_contribution"] * part["penalty"]).sum()
            rows.append(
                {
                    "rule": rule,
                    "vendor_id": vendor_id,
                    "incidents": len(part),
                    "contribution_pct": 100 * weighted / penalty if penalty else 0.0,
                    "penalty": penalty,
                    "vendor_penalty": part["vendor_penalty"].sum(),
                    "internal_penalty": part["internal_penalty"].sum(),
                    "vendor_pct": 100 * part["vendor_penalty"].sum() / penalty if penalty else 0.0,
                    "capped": int(part.loc[part["capped"], "period"].nunique()),
                }
            )
    return pd.DataFrame(rows)


def interpret_penalty_rules(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Say how each rule splits the same joint failures, from :func:`penalty_rules_table`."""
    if table.empty:
        return "No incident had both an internal and a vendor contribution in the run."
    totals = table.groupby("rule")[["penalty", "vendor_penalty"]].sum()
    contribution = (table["contribution_pct"] * table["penalty"]).groupby(table["rule"]).sum()
    contribution = contribution / totals["penalty"]
    parts = [
        f"{rule}: the vendors pay {money(totals.loc[rule, 'vendor_penalty'], currency)} "
        f"({100 * totals.loc[rule, 'vendor_penalty'] / totals.loc[rule, 'penalty']:.0f} %)"
        for rule in RULES
        if rule in totals.index
    ]
    return (
        f"The run's {int(table[table['rule'] == RULES[0]]['incidents'].sum())} joint failures "
        f"carry {money(totals['penalty'].iloc[0], currency)} of penalties, of which the vendors "
        f"really caused {contribution.iloc[0]:.0f} % (their share of the open time). "
        + "; ".join(parts)
        + ". Only a split that follows the contribution leaves neither side an interest in "
        "blaming the other."
    )


def check_penalty_rule(example: VendorRun, rule: str, cap_pct: float = EXAMPLE_CAP_PCT) -> Check:
    """Check a penalty-sharing rule: the vendor pays its contribution, within 5 points.

    Parameters
    ----------
    example : VendorRun
        The run.
    rule : str
        One of :data:`RULES`.
    cap_pct : float
        The cap, for ``capped``.

    Returns
    -------
    Check
        Met when, for every vendor, its share of the penalties is within
        :data:`SPLIT_TOLERANCE_PCT` points of its true contribution.
    """
    topic = "6.2"
    if rule not in RULES:
        return failed(topic, f"Unknown rule {rule!r}.", f"Choose one of {listing(list(RULES))}.")
    table = penalty_rules_table(example, cap_pct)
    mine = table[table["rule"] == rule]
    if mine.empty:
        return passed(topic, "No joint failure in the run: any rule splits nothing.")
    off = (mine["vendor_pct"] - mine["contribution_pct"]).abs()
    if (off > SPLIT_TOLERANCE_PCT).any():
        worst = mine.loc[off.idxmax()]
        return failed(
            topic,
            f"Under {rule}, {worst['vendor_id']} pays {worst['vendor_pct']:.0f} % of the "
            f"penalties for a {worst['contribution_pct']:.0f} % contribution.",
            "Look at how each rule treats a contribution below or above one half, and the cap.",
        )
    return passed(
        topic,
        f"Under {rule}, every vendor pays within {SPLIT_TOLERANCE_PCT:.0f} points of what it "
        "contributed.",
    )


# -- 6.3 vendor data-sharing ----------------------------------------------------------------------

FEEDS = {  # which vendor delivery each vendor-fed measure of the teams needs
    "availability": "outages",
    "resolution time": "incidents",
    "vendor SLA credits": "sla_report",
}


def delivery_table(
    scenario: Scenario, statement_days: int, due_days: dict[str, int] | None = None
) -> pd.DataFrame:
    """List each vendor's data deliveries and whether each vendor-fed measure is on time.

    Parameters
    ----------
    scenario : Scenario
        Vendors and their contracts' ``data_deliveries``.
    statement_days : int
        Days after an incentive period's end that its statements are computed.
    due_days : dict, optional
        A proposed clause: days due per delivery content (``outages``, ``incidents``,
        ``sla_report``), for every vendor; by default the contracts' own.

    Returns
    -------
    DataFrame
        One row per vendor and measure: ``vendor_id, measure, content, due_days``
        (missing when the contract asks for no such delivery), ``completeness_pct`` and
        ``on_time`` (delivered, complete and due by the statement date).
    """
    rows = []
    for vendor in scenario.organisation.vendors:
        delivered = {}
        if vendor.contract is not None:
            delivered = {d.content: d for d in vendor.contract.data_deliveries}
        for measure, content in FEEDS.items():
            item = delivered.get(content)
            due = (due_days or {}).get(content, item.due_days_after_period_end if item else None)
            complete = item.completeness_pct if item else None
            if due_days and content in due_days:
                complete = 100.0
            on_time = due is not None and due <= statement_days and (complete or 0) >= 100.0
            rows.append((vendor.id, measure, content, due, complete, on_time))
    columns = ["vendor_id", "measure", "content", "due_days", "completeness_pct", "on_time"]
    return pd.DataFrame(rows, columns=columns)


def interpret_deliveries(table: pd.DataFrame, statement_days: int) -> str:
    """Say what share of the vendor-fed measures can be computed by the statement date."""
    if table.empty:
        return "The scenario has no vendors, so every measure is computed from internal data."
    share = 100 * table["on_time"].mean()
    late = table[~table["on_time"]]
    text = (
        f"Statements are computed {statement_days} days after the period; "
        f"{share:.0f} % of the vendor-fed measures can be computed by then from complete data."
    )
    if len(late):
        reasons = [
            f"{r.vendor_id}'s {r.measure} ("
            + (
                "no delivery agreed"
                if pd.isna(r.due_days)
                else f"due {r.due_days:.0f} days, {r.completeness_pct:.0f} % complete"
            )
            + ")"
            for r in late.itertuples()
        ]
        text += (
            f" Provisional or missing: {listing(reasons)}; these scores are provisional until the "
            "data arrives and are trued up later."
        )
    return text


VENDOR_PACE = "vendor-report"  # 6.3: the example feed whose delay is a vendor's own pace


def clause_effect(
    scenario: Scenario,
    statement_days: int,
    due_days: dict[str, int] | None = None,
    periods: int = 40,
    seeds: Sequence[int] = range(5),
) -> pd.DataFrame:
    """Draw when each vendor-fed measure's data arrives, at the vendor's pace and under a clause.

    Each vendor delivers each content (:data:`FEEDS`) as a feed with a ``supplier``, at the
    pace of the example vendor report (:data:`toolkit.course.data_availability.EXAMPLE_FEEDS`,
    median 9 days) and due for the statements ``statement_days`` after the period. The same
    draws are read twice: with no clause, and bound by the contracts' (or the proposed)
    deliveries as a run binds them (:func:`toolkit.run.data_availability.clause_due_days`).

    Parameters
    ----------
    scenario : Scenario
        The vendors and their contracts.
    statement_days : int
        Days after a period that its statements are computed: each feed's deadline.
    due_days : dict, optional
        A proposed clause: days due per content for every vendor, complete; by default the
        contracts' own deliveries.
    periods : int
        Periods drawn per seed.
    seeds : sequence of int
        Seeds; each gives a run's draws.

    Returns
    -------
    DataFrame
        One row per vendor and measure: ``vendor_id, measure, content``, ``due_days`` (the
        complete delivery's due day, missing without one), ``on_time_own_pace_pct`` and
        ``on_time_clause_pct``: the share of periods whose data is in by the statement date.
    """
    pace = next(spec for spec in da.EXAMPLE_FEEDS if spec["id"] == VENDOR_PACE)
    feeds, keys = [], []
    for vendor in scenario.organisation.vendors:
        for measure, content in FEEDS.items():
            feed = {
                **pace,
                "id": f"{vendor.id}-{content}",
                "deadline_days": statement_days,
                "supplier": {"vendor": vendor.id, "content": content},
            }
            feeds.append(DataFeed.model_validate(feed))
            keys.append((vendor.id, measure, content, feed["id"]))
    if due_days is None:
        due = clause_due_days(scenario.model_copy(update={"data_feeds": feeds}))
    else:
        due = {key[3]: float(due_days[key[2]]) for key in keys if key[2] in due_days}
    labels = [f"P{k}" for k in range(periods)]
    own = pd.concat([draw_deliveries(feeds, labels, seed) for seed in seeds])
    bound = pd.concat([draw_deliveries(feeds, labels, seed, due) for seed in seeds])
    rows = [
        (
            vendor_id,
            measure,
            content,
            due.get(feed_id),
            100 * (~own.loc[own["feed"] == feed_id, "late"]).mean(),
            100 * (~bound.loc[bound["feed"] == feed_id, "late"]).mean(),
        )
        for vendor_id, measure, content, feed_id in keys
    ]
    columns = ["vendor_id", "measure", "content", "due_days"]
    return pd.DataFrame(rows, columns=[*columns, "on_time_own_pace_pct", "on_time_clause_pct"])


def interpret_clause_effect(table: pd.DataFrame, statement_days: int) -> str:
    """Say how much of the vendor-fed data the clauses bring in by the statement date."""
    if table.empty:
        return "The scenario has no vendors: no score waits for a vendor's data."
    own, bound = table["on_time_own_pace_pct"].mean(), table["on_time_clause_pct"].mean()
    text = (
        f"At their own pace the vendors' data is in by day {statement_days} for {own:.0f} % of "
        f"the measure-periods; bound by the clauses, {bound:.0f} %. The rest is scored as the "
        "plan's late-data rule says (provisionally, or held) and trued up when it arrives."
    )
    unbound = table[table["due_days"].isna()]
    if len(unbound):
        names = [f"{r.vendor_id}'s {r.content}" for r in unbound.itertuples()]
        text += f" No complete delivery binds {listing(names)}: a clause there would help most."
    late = table[table["due_days"] > statement_days]
    if len(late):
        text += (
            f" {len(late)} clause(s) fall due after day {statement_days}: data they bring by "
            "their due day is still late for the statements, so they change nothing on time."
        )
    return text


def check_data_clause(
    scenario: Scenario,
    due_days: dict[str, int],
    statement_days: int,
    goal_pct: float = DATA_GOAL_PCT,
) -> Check:
    """Check a data-sharing clause: due dates that let the statements be computed on time.

    Parameters
    ----------
    scenario : Scenario
        The vendors.
    due_days : dict
        Days due per content (``outages``, ``incidents``, ``sla_report``) for every vendor.
    statement_days : int
        Days after the period that statements are computed.
    goal_pct : float
        Share of vendor-fed measures that must be computable on time.

    Returns
    -------
    Check
        Met when the share is reached and no delivery is due sooner than 1 day (a vendor
        cannot report a period before it has closed).
    """
    topic = "6.3"
    if any(d < 1 for d in due_days.values()):
        return failed(topic, "A delivery due before day 1 cannot be met.", "Leave a day.")
    table = delivery_table(scenario, statement_days, due_days)
    share = 100 * table["on_time"].mean() if len(table) else 100.0
    if share < goal_pct:
        return failed(
            topic,
            f"{share:.0f} % of the vendor-fed measures are computable by day {statement_days} "
            f"(goal: {goal_pct:.0f} %).",
            "Every content a measure needs must be due, complete, by the statement date.",
        )
    return passed(
        topic,
        f"All vendor-fed measures are computable by day {statement_days}; the latest delivery "
        f"is due on day {max(due_days.values())}.",
    )


# -- 6.4 payout timing ----------------------------------------------------------------------------


def payout_table(
    example: VendorRun, schedule: str = "contract", lag_months: int = 1, gain_share=None
) -> pd.DataFrame:
    """Return the run's payments to teams and vendors on one calendar (:mod:`payout_timing`)."""
    return payout_timing.payout_schedule(
        example.run.ledger.cashflows(),
        example.sla,
        example.scenario.horizon.period,
        schedule,
        lag_months,
        gain_share,
    )


def payout_figure(schedule: pd.DataFrame, title: str = "Cash by quarter") -> plt.Figure:
    """Plot the payments per quarter, one bar segment per side and kind."""
    calendar = payout_timing.cash_calendar(schedule)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    parts = calendar.drop(columns=["net"])
    if len(parts):
        parts.plot.bar(ax=ax, stacked=True, width=0.8)
        ax.plot(range(len(calendar)), calendar["net"], "k.-", label="net")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("cash out (credits negative)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def interpret_payouts(schedule: pd.DataFrame, currency: str = "EUR") -> str:
    """Say when each side is paid, from :func:`payout_timing.timing_summary`."""
    if schedule.empty:
        return "Nobody was paid in the run's horizon."
    summary = payout_timing.timing_summary(schedule)
    parts = [
        f"{row.kind} ({row.side}): {row.payments} payment(s), {money(row.amount, currency)}, "
        f"on average {row.mean_lag_months:.1f} months after the period earned"
        for row in summary.itertuples()
    ]
    text = "; ".join(parts) + "."
    if not (schedule["side"] == "internal").any():
        text += (
            " No internal award is paid inside the horizon: the plan's awards vest later, so "
            "the vendor's money for the same quarters moves years before the team's."
        )
    return text


def check_payout_schedule(example: VendorRun, schedule: str, lag_months: int) -> Check:
    """Check a settlement schedule: one vendor settlement per internal period, after the report.

    Parameters
    ----------
    example : VendorRun
        The run.
    schedule : str
        ``"contract"`` or ``"aligned"``.
    lag_months : int
        Months from the end of the settled period to payment.

    Returns
    -------
    Check
        Met when the vendor's credits and bonuses of each internal period are settled on one
        date, no sooner than the SLA report is due, and within the next internal period.
    """
    topic = "6.4"
    due = report_due_days(example.scenario)
    if lag_months * DAYS_PER_MONTH < due:
        return failed(
            topic,
            f"Settled {lag_months} month(s) after the period: before the report is due ({due} "
            "days).",
            "Leave time for the vendor's SLA report.",
        )
    table = payout_table(example, schedule, lag_months)
    vendor = table[table["side"] == "vendor"]
    if vendor.empty:
        return passed(topic, "No vendor money was due in the run.")
    freq = payout_timing.FREQ[example.scenario.horizon.period]
    earned = pd.PeriodIndex(vendor["earned_in"].astype(str), freq="M").asfreq(freq)
    paid = pd.PeriodIndex(vendor["paid_month"].astype(str), freq="M")
    dates = pd.DataFrame({"earned": earned.astype(str), "paid": paid.astype(str)})
    dates_per_period = dates.groupby("earned")["paid"].nunique()
    gap = max((p.asfreq(freq) - e).n for p, e in zip(paid, earned, strict=True))
    if (dates_per_period > 1).any() or gap > 1:
        return failed(
            topic,
            f"Vendor money of one internal period is paid on up to {dates_per_period.max()} "
            f"dates, up to {gap} internal period(s) later.",
            "Settle the vendor with the internal period's statement, not month by month.",
        )
    return passed(
        topic,
        f"Each internal period's vendor money is settled on one date, {lag_months} month(s) "
        "after the period, like the teams' statements.",
    )


# -- 6.5 joint vendor/HR dispute review -----------------------------------------------------------


def example_ledger(directory: str | Path) -> Governance:
    """Build the worked governance example afresh in ``directory/governance.db``."""
    from toolkit.governance.demo import build_demo

    path = Path(directory) / "governance.db"
    path.unlink(missing_ok=True)
    gov, _ = build_demo(path)
    return gov


def vendor_disputes(gov: Governance) -> pd.DataFrame:
    """Return the ledger's statements on vendors with their contests (:func:`contest_table`)."""
    from toolkit.course.approval_workflows import contest_table

    table = contest_table(gov)
    return table[table["vendor_id"].notna()].reset_index(drop=True)


def roles(gov: Governance) -> pd.DataFrame:
    """Return each person's roles, team and vendor."""
    people = gov.view("audit-lu", "people")
    held = pd.read_sql("SELECT person_id, role FROM person_roles", gov.engine)
    joined = held.groupby("person_id")["role"].apply(lambda r: ", ".join(sorted(r)))
    return people.assign(roles=people["person_id"].map(joined).fillna(""))


def interpret_disputes(table: pd.DataFrame) -> str:
    """Say which vendor contests are open and who the joint review must bring together."""
    if table.empty:
        return "No vendor contested a statement, so there is nothing for a joint review."
    open_ = table[table["status"].astype(str) == "open"]
    return (
        f"{len(table)} statement(s) on a vendor, {len(open_)} contest(s) open: "
        + listing(
            [
                f"{r.vendor_id} on {r.team_id}'s statement {r.statement_id}"
                for r in open_.itertuples()
            ]
        )
        + ". A joint review brings the vendor's account manager and HR to the same table with "
        "someone who may decide and nobody whose pay the outcome changes."
    )


def check_panel(gov: Governance, statement_id: int, panel: Sequence[str]) -> Check:
    """Check a joint review panel for a vendor's contest.

    Parameters
    ----------
    gov : Governance
        The ledger.
    statement_id : int
        The contested statement (on a vendor).
    panel : sequence of str
        Person ids of the panel.

    Returns
    -------
    Check
        Met when the panel holds the vendor's representative, someone from HR, a review
        board member who may decide, and nobody from the team the statement is about.
    """
    topic = "6.5"
    people = roles(gov).set_index("person_id")
    unknown = sorted(set(panel) - set(people.index))
    if unknown:
        return failed(topic, f"Unknown people: {listing(unknown)}.", "Use ids from the table.")
    statement = vendor_disputes(gov).set_index("statement_id").loc[statement_id]
    chosen = people.loc[list(panel)]
    problems = []
    if not (chosen["vendor_id"] == statement["vendor_id"]).any():
        problems.append(f"nobody speaks for {statement['vendor_id']}")
    if not chosen["roles"].str.contains(r"\bhr\b").any():
        problems.append("HR is missing")
    if not chosen["roles"].str.contains("review_board").any():
        problems.append("nobody may decide (review board)")
    conflicted = chosen.index[chosen["team_id"] == statement["team_id"]].tolist()
    if conflicted:
        problems.append(f"{listing(conflicted)} belong(s) to {statement['team_id']}")
    if problems:
        return failed(topic, "The panel: " + "; ".join(problems) + ".", "Read the roles table.")
    return passed(
        topic,
        f"The panel of {len(chosen)} brings {statement['vendor_id']}, HR and the review board "
        f"together, with nobody from {statement['team_id']}.",
    )


# -- 6.6 subcontractor performance ----------------------------------------------------------------


def subcontractor_tables(example: VendorRun) -> dict[str, pd.DataFrame]:
    """Return the subcontractors' share of the vendors' SLA and of the teams' losses."""
    truth = example.run.truth
    share = subcontractors.subcontractor_sla_share(example.scenario, truth)
    return {
        "sla": share,
        "summary": subcontractors.subcontractor_summary(share),
        "teams": subcontractors.subcontractor_team_share(example.scenario, truth),
    }


def interpret_subcontractors(tables: dict[str, pd.DataFrame], currency: str = "EUR") -> str:
    """Say how much of the vendors' shortfall and the teams' losses the subcontractors caused."""
    summary, teams = tables["summary"], tables["teams"]
    if summary.empty:
        return "No vendor has subcontractors, so the vendors answer only for themselves."
    parts = [
        f"{r.subcontractor_id} caused {r.share_pct:.0f} % of {r.vendor_id}'s availability "
        f"shortfall and {money(r.credit_caused, currency)} of its credits"
        for r in summary.itertuples()
    ]
    loss = teams["vendor_loss_pp"].sum()
    sub = teams["subcontractor_loss_pp"].sum()
    share = 100 * sub / loss if loss > 0 else 0.0
    return (
        "; ".join(parts)
        + f". Of the availability the teams lost to vendors, {share:.0f} % came through "
        "subcontractors: the vendor's relationship owner answers for it, and only a metric "
        "that names the subcontractor shows it."
    )


def check_subcontractor_share(
    tables: dict[str, pd.DataFrame], subcontractor_id: str, answer_pct: float | None
) -> Check:
    """Check the learner's reading of a subcontractor's share of its vendor's shortfall."""
    topic = "6.6"
    summary = tables["summary"].set_index("subcontractor_id")
    if subcontractor_id not in summary.index:
        return failed(topic, f"No subcontractor {subcontractor_id!r}.", "Use the table's ids.")
    if answer_pct is None:
        return failed(topic, "No answer yet.", "Read the summary's share column.")
    true = float(summary.loc[subcontractor_id, "share_pct"])
    if abs(answer_pct - true) > SHARE_TOLERANCE_PCT:
        return failed(
            topic,
            f"{answer_pct:.1f} % is more than {SHARE_TOLERANCE_PCT:.0f} point off.",
            "Caused points over the vendor's shortfall points.",
        )
    return passed(topic, f"{subcontractor_id} caused {true:.1f} % of the vendor's shortfall.")
