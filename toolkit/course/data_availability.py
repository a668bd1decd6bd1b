"""Topic 7.6, data availability SLAs: late data against processing deadlines.

An incentive run for a period is due some days after the period ends; the KPIs need data from
feeds (the ITSM export, the satisfaction survey, a vendor's service report) that arrive with a
delay of their own. This module holds what the module-7 notebook and the SLA worksheet need:
example feeds, delivery draws over many periods (:func:`toolkit.run.data_availability.
draw_deliveries`, the same draws a run makes), the share of periods computable on time per
deadline, a run of the loop with feeds and its true-ups, a paragraph per result written from
its numbers, checkers for the exercises, and the SLA workbook with live formulas.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from toolkit.config import load_scenario
from toolkit.config.plan import LateData
from toolkit.config.scenario import DataFeed
from toolkit.course.documents import batch_of
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import listing, money, share
from toolkit.course.workbooks import BOLD, INPUT, _header, _notes, _widths, new_workbook
from toolkit.plans import load_plan
from toolkit.resources import shipped_scenario
from toolkit.run.data_availability import clause_due_days, draw_deliveries
from toolkit.run.loop import PlanRun, run_plan

TOPIC = "7.6"
GOAL = 0.95  # the share of periods whose incentives must be computable on time
SLACK_DAYS = 2  # a deadline this much longer than needed still counts as a good answer
DEADLINES = tuple(range(0, 31))  # whole days after period end the table looks at
ALL_FEEDS = "all feeds"
# Example feeds, each with the reason for its numbers (scenarios/README.md, "Data feeds").
EXAMPLE_FEEDS = (
    {
        "id": "itsm",
        "name": "ITSM incident and change export",
        "kpis": [
            "mttr_mean_hours",
            "sla_attainment",
            "incident_volume",
            "change_success_rate",
            "change_throughput",
        ],
        "delay": {"median_days": 2, "sigma": 0.5},  # a scheduled extract, sometimes rerun
        "missing_probability": 0.0,
    },
    {
        "id": "csat",
        "name": "Customer satisfaction survey",
        "kpis": ["csat_mean", "csat_adjusted"],
        "delay": {"median_days": 6, "sigma": 0.4},  # the survey window stays open
        "missing_probability": 0.005,
    },
    {
        "id": "vendor-report",
        "name": "Vendor service level report",
        "kpis": ["availability"],
        "delay": {"median_days": 9, "sigma": 0.4},  # due on the 10th working day
        "missing_probability": 0.01,
    },
)
SLA_COLUMNS = [
    "feed",
    "name",
    "KPIs",
    "deadline (days)",
    "median delay (days)",
    "sigma",
    "missing probability",
    "P(on time)",
]
LOG_COLUMNS = [
    "period",
    "feed",
    "deadline (days)",
    "delay (days)",
    "status",
    "on time (1/0)",
    "logged (1/0)",
]
BLANK_LOG_ROWS = 12


def example_feeds(deadline_days: float = 10.0, feeds: Sequence[dict] = EXAMPLE_FEEDS) -> list:
    """Return the example feeds with a common processing deadline.

    Parameters
    ----------
    deadline_days : float
        Days after a period's end by which its incentive run is due.
    feeds : sequence of dict
        Feed specifications without a deadline; :data:`EXAMPLE_FEEDS` by default.

    Returns
    -------
    list of DataFeed
        Validated feeds, ready for ``scenario.data_feeds``.
    """
    return [DataFeed.model_validate({**spec, "deadline_days": deadline_days}) for spec in feeds]


def delivery_table(
    feeds: Sequence[DataFeed], periods: int = 40, seeds: Iterable[int] = range(5)
) -> pd.DataFrame:
    """Draw when each feed delivers, over many periods and seeds (the runs' own draws).

    Parameters
    ----------
    feeds : sequence of DataFeed
        The feeds.
    periods : int
        Periods per seed (labels ``P0``, ``P1`` ...).
    seeds : iterable of int
        Seeds; each gives the draws a run with that seed makes.

    Returns
    -------
    DataFrame
        ``seed``, ``period``, ``feed``, ``deadline_days``, ``delay_days`` (NaN if missing),
        ``missing`` and ``late``.
    """
    labels = [f"P{k}" for k in range(periods)]
    parts = [draw_deliveries(feeds, labels, seed).assign(seed=seed) for seed in seeds]
    table = pd.concat(parts, ignore_index=True)
    return table[["seed", *table.columns[:-1]]]


def deadline_table(
    deliveries: pd.DataFrame, deadlines: Sequence[float] = DEADLINES
) -> pd.DataFrame:
    """Return, per deadline, the share of periods each feed (and all of them) delivers by it.

    A period's incentives are computable on time when every feed is in by the deadline, so
    the ``all feeds`` row is what an SLA has to secure.

    Parameters
    ----------
    deliveries : DataFrame
        From :func:`delivery_table`.
    deadlines : sequence of float
        Days after a period's end.

    Returns
    -------
    DataFrame
        ``deadline_days``, ``feed`` (a feed's id or ``all feeds``) and ``on_time_share``.
    """
    delay = deliveries["delay_days"].fillna(math.inf).to_numpy()
    keys = deliveries[["seed", "period"]].astype(str).agg("/".join, axis=1).to_numpy()
    feeds = deliveries["feed"].to_numpy()
    rows = []
    for deadline in deadlines:
        on_time = delay <= deadline
        for feed in dict.fromkeys(feeds):
            rows.append((float(deadline), feed, float(on_time[feeds == feed].mean())))
        every = pd.Series(on_time).groupby(keys).all()
        rows.append((float(deadline), ALL_FEEDS, float(every.mean())))
    return pd.DataFrame(rows, columns=["deadline_days", "feed", "on_time_share"])


def deadline_for(table: pd.DataFrame, goal: float = GOAL, feed: str = ALL_FEEDS) -> float:
    """Return the shortest deadline in the table at which ``goal`` of periods are on time.

    Parameters
    ----------
    table : DataFrame
        From :func:`deadline_table`.
    goal : float
        The share of periods to be computable on time.
    feed : str
        A feed's id, or ``all feeds``.

    Returns
    -------
    float
        Days after period end; ``inf`` when no deadline in the table reaches the goal (the
        feeds' missing probabilities may forbid it).
    """
    rows = table[(table["feed"] == feed) & (table["on_time_share"] >= goal)]
    return float(rows["deadline_days"].min()) if len(rows) else math.inf


def _on_time_at(table: pd.DataFrame, deadline: float, feed: str = ALL_FEEDS) -> float:
    """Return the share on time at a deadline: that of the longest deadline not above it."""
    rows = table[(table["feed"] == feed) & (table["deadline_days"] <= deadline)]
    return float(rows["on_time_share"].iloc[-1]) if len(rows) else 0.0


def interpret_deadlines(table: pd.DataFrame, goal: float = GOAL) -> str:
    """Say which deadline makes ``goal`` of incentives computable on time, and which feed binds.

    Parameters
    ----------
    table : DataFrame
        From :func:`deadline_table`.
    goal : float
        The share of periods to be computable on time.

    Returns
    -------
    str
        A paragraph written from the numbers.
    """
    needed = deadline_for(table, goal)
    feeds = [f for f in dict.fromkeys(table["feed"]) if f != ALL_FEEDS]
    per_feed = {feed: deadline_for(table, goal, feed) for feed in feeds}
    binding = max(per_feed, key=lambda f: per_feed[f])
    shortest = float(table["deadline_days"].min())
    ceiling = table[table["feed"] == ALL_FEEDS]["on_time_share"].max()
    if math.isinf(needed):
        return (
            f"No deadline up to {table['deadline_days'].max():.0f} days makes {share(goal, 0)} "
            f"of periods computable on time: at best {share(ceiling)} are, because "
            f"{listing([binding])} sometimes never delivers. An SLA on the delivery date alone "
            "cannot fix that; the plan's missing-data rule decides those periods."
        )
    earlier = max(shortest, needed - 5)
    alone = share(_on_time_at(table, earlier))
    return (
        f"With every feed needed, a deadline of {needed:.0f} days after period end makes "
        f"{share(_on_time_at(table, needed))} of periods computable on time (goal "
        f"{share(goal, 0)}); at {earlier:.0f} days only {alone} are. The feed that sets the "
        f"deadline is {binding}, which alone needs {per_feed[binding]:.0f} days; "
        + ", ".join(f"{f} needs {d:.0f}" for f, d in per_feed.items() if f != binding)
        + ". Shortening that feed's delivery, or paying its KPIs provisionally, moves the "
        "payroll date more than tightening the others."
    )


def check_deadline(answer: float, table: pd.DataFrame, goal: float = GOAL) -> Check:
    """Check a proposed processing deadline: ``goal`` on time, and not needlessly late.

    Parameters
    ----------
    answer : float
        The learner's deadline in days after period end.
    table : DataFrame
        From :func:`deadline_table`.
    goal : float
        The share of periods to be computable on time.

    Returns
    -------
    Check
        Met when at least ``goal`` of periods have every feed in by ``answer`` and ``answer``
        is at most :data:`SLACK_DAYS` longer than the shortest such deadline.
    """
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return failed(TOPIC, f"{answer!r} is not a number of days.", "Give days after period end.")
    if not math.isfinite(answer) or answer < 0:
        return failed(TOPIC, f"{answer} days is not a deadline.", "Give days after period end.")
    reached = _on_time_at(table, answer)
    needed = deadline_for(table, goal)
    if reached < goal:
        return failed(
            TOPIC,
            f"At {answer:.0f} days {share(reached)} of periods have all their data (goal "
            f"{share(goal, 0)}).",
            "Look at the 'all feeds' row: the slowest feed sets the deadline.",
        )
    if answer > needed + SLACK_DAYS:
        return failed(
            TOPIC,
            f"At {answer:.0f} days {share(reached)} of periods are on time, but a shorter "
            f"deadline reaches {share(goal, 0)} as well; every day later delays the payroll.",
            "Find the shortest deadline in the table that still meets the goal.",
        )
    return passed(
        TOPIC,
        f"At {answer:.0f} days {share(reached)} of periods have all their data (goal "
        f"{share(goal, 0)}); the shortest deadline that does is {needed:.0f} days.",
    )


def run_with_feeds(
    feeds: Sequence[DataFeed],
    plan: str = "balanced",
    seed: int = 1,
    scenario: str | Path | None = None,
    **late_data,
) -> PlanRun:
    """Run the loop with the feeds on a scenario (``small.yaml`` by default).

    Parameters
    ----------
    feeds : sequence of DataFeed
        The scenario's feeds for this run.
    plan : str
        A plan name or file.
    seed : int
        The run's seed.
    scenario : str or Path, optional
        A scenario file; ``scenarios/small.yaml`` when omitted.
    **late_data
        Overrides of the plan's ``late_data`` rule: ``policy``, ``missing``,
        ``missing_after_periods``.

    Returns
    -------
    PlanRun
        With its ``data_availability`` record.
    """
    base = load_scenario(scenario or shipped_scenario("small"))
    model = base.model_copy(update={"data_feeds": list(feeds)})
    loaded = load_plan(plan, scenario=model)
    rule = LateData.model_validate({**loaded.late_data.model_dump(), **late_data})
    return run_plan(model, loaded.model_copy(update={"late_data": rule}), seed)


def true_up_table(run: PlanRun) -> pd.DataFrame:
    """Return what was provisional and what changed, per plan period, over the teams.

    Parameters
    ----------
    run : PlanRun
        A run with feeds (:func:`run_with_feeds`).

    Returns
    -------
    DataFrame
        ``period``, ``status``, ``late_feeds``, ``delay_days``, ``settled_period``,
        ``booked_score_pct`` and ``final_score_pct`` (means over teams), and money summed over
        teams: ``provisional_accrual``, ``true_up`` and ``final_accrual``.
    """
    record = run.data_availability
    keys = ["period", "status", "late_feeds", "delay_days", "settled_period"]
    return record.groupby(keys, sort=False, as_index=False, dropna=False).agg(
        booked_score_pct=("booked_score_pct", "mean"),
        final_score_pct=("final_score_pct", "mean"),
        provisional_accrual=("provisional_accrual", "sum"),
        true_up=("true_up", "sum"),
        final_accrual=("final_accrual", "sum"),
    )


def interpret_true_ups(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Say how many periods were provisional, held or missing, and what the true-ups moved.

    Parameters
    ----------
    table : DataFrame
        From :func:`true_up_table`.
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        A paragraph written from the numbers.
    """
    if table.empty:
        return "No feed the plan depends on was configured: every period was scored on time."
    counts = table["status"].value_counts()
    late = table[table["status"] != "on_time"]
    parts = [f"{int(counts.get(s, 0))} {s.replace('_', ' ')}" for s in counts.index]
    text = f"Of {len(table)} plan periods, {listing(parts)}."
    if late.empty:
        return text + " No true-up was needed."
    settled = late[late["settled_period"] != ""]
    moved = settled["true_up"]
    pending = len(late) - len(settled)
    text += (
        f" The true-ups moved the ledger by {money(moved.abs().sum(), currency)} in all "
        f"({money(moved.sum(), currency)} net): what was booked at the deadlines, "
        f"{money(settled['provisional_accrual'].sum(), currency)}, became "
        f"{money(settled['final_accrual'].sum(), currency)} once the data was in."
    )
    if len(settled):
        worst = settled.loc[
            (settled["final_score_pct"] - settled["booked_score_pct"]).abs().idxmax()
        ]
        text += (
            f" The largest change was in {worst['period']}: booked at "
            f"{worst['booked_score_pct']:.1f} % of target, final {worst['final_score_pct']:.1f} %."
        )
    if pending:
        text += f" {pending} period(s) were still waiting for data at the horizon's end."
    return text


def check_conserved(run: PlanRun, tolerance: float = 0.005) -> Check:
    """Check that provisional bookings plus true-ups equal the accruals the final data gives.

    Parameters
    ----------
    run : PlanRun
        A run with feeds.
    tolerance : float
        Money tolerance in the scenario currency (half a cent).

    Returns
    -------
    Check
        Met when every settled period's provisional accrual plus true-up equals its final
        accrual, and the ledger's ``true_up`` events add up to the record's.
    """
    record = run.data_availability
    settled = record[record["settled_period"] != ""]
    gap = (settled["provisional_accrual"] + settled["true_up"] - settled["final_accrual"]).abs()
    cash = run.ledger.cashflows()
    booked = float(cash.loc[cash["kind"] == "true_up", "amount"].sum())
    recorded = float(settled["true_up"].sum())
    if len(gap) and gap.max() > tolerance:
        return failed(TOPIC, f"A period is off by {gap.max():.4f}.", "Compare booked and final.")
    if abs(booked - recorded) > tolerance:
        return failed(
            TOPIC,
            f"The ledger booked {booked:,.2f} of true-ups, the record {recorded:,.2f}.",
            "Every true-up is a ledger event of the period it corrects.",
        )
    return passed(
        TOPIC,
        f"{len(settled)} settled team-periods: provisional + true-up = final accrual to the "
        f"cent, and the ledger's true-ups ({booked:,.2f}) match the record.",
    )


# -- the SLA worksheet -------------------------------------------------------------------------


def sla_inputs(results_dir: str | Path = "") -> tuple[list[DataFeed], pd.DataFrame | None]:
    """Return the feeds and the delivery log the SLA worksheet is filled from.

    Parameters
    ----------
    results_dir : str or Path
        A batch directory: the feeds of its first scenario that has any, and the deliveries
        its first seed drew over the scenario's periods; ``""`` (or a batch without feeds)
        gives the example feeds and a blank log.

    Returns
    -------
    feeds : list of DataFeed
        The feeds to list.
    log : DataFrame or None
        The deliveries, or None for a blank log.
    """
    if not str(results_dir):
        return example_feeds(), None
    batch = batch_of(results_dir)
    for name in batch.scenarios:
        scenario = batch.scenario_model(name)
        if scenario is None or not scenario.data_feeds:
            continue
        behaviour = batch.run_table("behaviour")
        seed = batch.seeds[0]
        rows = behaviour[(behaviour["scenario"] == name) & (behaviour["seed"] == seed)]
        labels = list(dict.fromkeys(rows["period"]))
        due = clause_due_days(scenario)
        return list(scenario.data_feeds), draw_deliveries(scenario.data_feeds, labels, seed, due)
    return example_feeds(), None


def _probability(row: int) -> str:
    """Return the live formula of a feed's chance to be on time (lognormal delay)."""
    d, m, s, p = (f"{column}{row}" for column in "DEFG")
    return (
        f'=IF(OR(NOT(ISNUMBER({d})),NOT(ISNUMBER({m}))),"",'
        f"IF({d}<=0,0,IF({s}=0,IF({m}<={d},1,0),NORMSDIST(LN({d}/{m})/{s})))*(1-{p}))"
    )


def sla_workbook(
    feeds: Sequence[DataFeed] | None = None,
    log: pd.DataFrame | None = None,
    goal: float = GOAL,
) -> Workbook:
    """Return the data-availability SLA sheet: feeds with live on-time chances, a period log.

    Parameters
    ----------
    feeds : sequence of DataFeed, optional
        The feeds to list; :func:`example_feeds` (deadline 10 days) when omitted.
    log : DataFrame, optional
        Deliveries to log (``period``, ``feed``, ``deadline_days``, ``delay_days``), e.g. a
        run's :func:`toolkit.run.data_availability.draw_deliveries`; blank rows otherwise.
    goal : float
        The share of periods to be computable on time.

    Returns
    -------
    Workbook
        Sheets ``Feeds`` (inputs: deadline, median delay, sigma, missing probability; live:
        each feed's chance of being on time and the chance all are, against the goal),
        ``Period log`` (a delivery per row; live: status and the share on time) and
        ``How to use``.
    """
    feeds = list(feeds) if feeds is not None else example_feeds()
    book = new_workbook()
    ws = book.create_sheet("Feeds")
    _header(ws, 1, SLA_COLUMNS)
    for row, feed in enumerate(feeds, start=2):
        values = [
            feed.id,
            feed.name,
            ", ".join(feed.kpis),
            float(feed.deadline_days),
            float(feed.delay.median_days),
            float(feed.delay.sigma),
            float(feed.missing_probability),
        ]
        for column, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=column, value=value)
            if column >= 4:
                cell.fill = INPUT
        ws.cell(row=row, column=8, value=_probability(row))
    last = len(feeds) + 1
    summary = last + 2
    ws.cell(row=summary, column=1, value="P(all feeds on time)").font = BOLD
    ws.cell(row=summary, column=8, value=f"=PRODUCT(H2:H{last})")
    ws.cell(row=summary + 1, column=1, value="goal").font = BOLD
    goal_cell = ws.cell(row=summary + 1, column=8, value=float(goal))
    goal_cell.fill = INPUT
    ws.cell(row=summary + 2, column=1, value="meets goal").font = BOLD
    ws.cell(row=summary + 2, column=8, value=f'=IF(H{summary}>=H{summary + 1},"yes","no")')
    _widths(ws, {"A": 22, "B": 34, "C": 60, "D": 15, "E": 20, "F": 8, "G": 20, "H": 12})

    sheet = book.create_sheet("Period log")
    _header(sheet, 1, LOG_COLUMNS)
    rows = (
        log[["period", "feed", "deadline_days", "delay_days"]].itertuples(index=False)
        if log is not None
        else [(None, None, None, None)] * BLANK_LOG_ROWS
    )
    end = 1
    for end, (period, feed, deadline, delay) in enumerate(rows, start=2):
        for column, value in enumerate((period, feed, deadline, delay), start=1):
            shown = (
                None if value is None or (isinstance(value, float) and np.isnan(value)) else value
            )
            cell = sheet.cell(row=end, column=column, value=shown)
            cell.fill = INPUT
        sheet.cell(
            row=end,
            column=5,
            value=f'=IF(A{end}="","",IF(NOT(ISNUMBER(D{end})),"missing",'
            f'IF(D{end}<=C{end},"on time","late")))',
        )
        sheet.cell(row=end, column=6, value=f'=IF(A{end}="","",IF(E{end}="on time",1,0))')
    total = end + 2
    sheet.cell(row=total, column=1, value="deliveries logged").font = BOLD
    sheet.cell(row=total, column=6, value=f"=SUM(G2:G{end})")
    for row in range(2, end + 1):
        sheet.cell(row=row, column=7, value=f'=IF(A{row}="",0,1)')
    sheet.cell(row=total + 1, column=1, value="share on time").font = BOLD
    sheet.cell(row=total + 1, column=6, value=f'=IF(F{total}=0,"",SUM(F2:F{end})/F{total})')
    _widths(sheet, {"A": 12, "B": 18, "C": 16, "D": 14, "E": 10, "F": 14, "G": 4})
    _notes(
        book,
        [
            "Data-availability SLA sheet (course topic 7.6).",
            "Sheet 'Feeds': one row per data source the incentive KPIs are computed from. "
            "Yellow cells are inputs: the processing deadline (days after period end), the "
            "median delivery delay and its spread (sigma of a lognormal), and the chance a "
            "period's delivery never comes. P(on time) is live: (1 - missing) x "
            "NORMSDIST(LN(deadline / median) / sigma). P(all feeds on time) multiplies them "
            "(feeds delay independently); compare it with the goal.",
            "Sheet 'Period log': one delivery per row (period, feed, deadline, delay in days; "
            "leave the delay empty when nothing arrived). Status and the share on time are "
            "live.",
            "A late period is scored as the plan's late_data rule says: provisional on the "
            "last known score and trued up when the data arrives, or held until then "
            "(scenarios/plans/README.md).",
        ],
    )
    return book
