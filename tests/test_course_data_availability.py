"""Topic 7.6 helpers: deadlines against delivery delays, true-ups, checks and the SLA sheet.

Shares are checked against the lognormal the feeds are drawn from, with a tolerance of four
binomial standard errors; the worksheet's formulas are evaluated by the course materials'
Excel evaluator and compared with the toolkit's definitions.
"""

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from toolkit.config import load_scenario
from toolkit.course import data_availability as da
from toolkit.course.workbooks import workbook_bytes

from .test_course_materials import FUNCTIONS, Sheet

PERIODS, SEEDS = 200, range(4)


def _ln(x):
    return math.log(x)


def _normsdist(z):
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _product(*values):
    out = 1.0
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int | float) and not isinstance(item, bool):
                out *= float(item)
    return out


EXCEL = {**FUNCTIONS, "LN": _ln, "NORMSDIST": _normsdist, "PRODUCT": _product}


class SlaSheet(Sheet):
    def _run(self, node):
        if node[0] == "call" and node[1] in ("LN", "NORMSDIST", "PRODUCT"):
            return EXCEL[node[1]](*[self._run(arg) for arg in node[2]])
        return super()._run(node)


def on_time_probability(feed, deadline):
    """P(delay <= deadline) × (1 − missing) for a lognormal delay."""
    if feed.delay.sigma == 0:
        hit = float(feed.delay.median_days <= deadline)
    else:
        hit = _normsdist(math.log(deadline / feed.delay.median_days) / feed.delay.sigma)
    return hit * (1 - feed.missing_probability)


@pytest.fixture(scope="module")
def feeds():
    return da.example_feeds(10)


@pytest.fixture(scope="module")
def deadlines(feeds):
    return da.deadline_table(da.delivery_table(feeds, PERIODS, SEEDS))


def _tolerance(p, n):
    return 4 * math.sqrt(max(p * (1 - p), 1e-4) / n)


@pytest.mark.parametrize("deadline", [6, 10, 15, 20])
def test_on_time_shares_follow_the_feeds_distributions(feeds, deadlines, deadline):
    n = PERIODS * len(SEEDS)
    rows = deadlines[deadlines["deadline_days"] == deadline].set_index("feed")["on_time_share"]
    every = 1.0
    for feed in feeds:
        p = on_time_probability(feed, deadline)
        every *= p
        assert abs(rows[feed.id] - p) < _tolerance(p, n), feed.id
    assert abs(rows[da.ALL_FEEDS] - every) < _tolerance(every, n)


def test_the_deadline_for_the_goal_is_the_shortest_that_meets_it(deadlines):
    needed = da.deadline_for(deadlines)
    every = deadlines[deadlines["feed"] == da.ALL_FEEDS].set_index("deadline_days")
    assert every.loc[needed, "on_time_share"] >= da.GOAL
    assert every.loc[needed - 1, "on_time_share"] < da.GOAL
    assert da.check_deadline(needed, deadlines)
    assert da.check_deadline(needed + da.SLACK_DAYS, deadlines)
    assert not da.check_deadline(needed - 1, deadlines)
    assert not da.check_deadline(needed + da.SLACK_DAYS + 1, deadlines)
    for nonsense in ("soon", -3, math.inf):
        assert not da.check_deadline(nonsense, deadlines)
    text = da.interpret_deadlines(deadlines)
    assert f"a deadline of {needed:.0f} days" in text
    slowest = max(
        (f for f in deadlines["feed"].unique() if f != da.ALL_FEEDS),
        key=lambda f: da.deadline_for(deadlines, feed=f),
    )
    assert f"The feed that sets the deadline is {slowest}" in text


def test_a_goal_the_missing_deliveries_forbid_is_said_so():
    never = da.example_feeds(
        10, [{**da.EXAMPLE_FEEDS[0], "missing_probability": 0.2}, *da.EXAMPLE_FEEDS[1:]]
    )
    table = da.deadline_table(da.delivery_table(never, 100, range(2)))
    assert da.deadline_for(table) == math.inf
    assert "No deadline up to 30 days" in da.interpret_deadlines(table)
    assert not da.check_deadline(30, table)


@pytest.fixture(scope="module")
def run(feeds):
    return da.run_with_feeds(feeds, plan="balanced", seed=1)


def test_true_up_table_sums_the_record_and_its_paragraph_quotes_it(run):
    table = da.true_up_table(run)
    record = run.data_availability
    assert len(table) == record["period"].nunique()
    assert table["true_up"].sum() == pytest.approx(record["true_up"].sum())
    assert (table["provisional_accrual"] + table["true_up"]).to_numpy() == pytest.approx(
        table["final_accrual"].to_numpy()
    )
    text = da.interpret_true_ups(table)
    counts = table["status"].value_counts()
    assert text.startswith(f"Of {len(table)} plan periods")
    for status, count in counts.items():
        assert f"{count} {status.replace('_', ' ')}" in text
    assert da.check_conserved(run)


def test_hold_and_missing_rules_reach_the_run(feeds):
    held = da.run_with_feeds(feeds, plan="balanced", seed=1, policy="hold")
    late = held.data_availability[held.data_availability["status"] != "on_time"]
    assert len(late) and set(late["status"]) <= {"held", "missing"}
    assert (late["booked_score_pct"] == 0).all()
    with pytest.raises(ValueError, match="policy"):
        da.run_with_feeds(feeds, plan="balanced", seed=1, policy="later")


def test_the_sla_sheet_computes_the_toolkits_on_time_chances(feeds, tmp_path):
    book = da.sla_workbook(feeds, goal=0.9)
    path = tmp_path / "sla.xlsx"
    path.write_bytes(workbook_bytes(book))
    ws = openpyxl.load_workbook(path)["Feeds"]
    sheet = SlaSheet(ws)
    every = 1.0
    for row, feed in enumerate(feeds, start=2):
        p = on_time_probability(feed, feed.deadline_days)
        every *= p
        assert sheet.value(f"H{row}") == pytest.approx(p)
    summary = len(feeds) + 3
    assert sheet.value(f"H{summary}") == pytest.approx(every)
    assert sheet.value(f"H{summary + 2}") == ("yes" if every >= 0.9 else "no")
    # an edited input recomputes: a deadline of 0 days is never met, nor is the goal
    ws["D2"] = 0
    edited = SlaSheet(ws)
    assert edited.value("H2") == 0
    assert edited.value(f"H{summary + 2}") == "no"


def test_the_period_log_counts_deliveries_on_time_late_and_missing(feeds, tmp_path):
    log = pd.DataFrame(
        {
            "period": ["2026Q1", "2026Q1", "2026Q2"],
            "feed": ["itsm", "csat", "itsm"],
            "deadline_days": [10.0, 10.0, 10.0],
            "delay_days": [3.0, 12.0, math.nan],
        }
    )
    path = tmp_path / "sla.xlsx"
    path.write_bytes(workbook_bytes(da.sla_workbook(feeds, log)))
    sheet = SlaSheet(openpyxl.load_workbook(path)["Period log"])
    assert [sheet.value(f"E{row}") for row in (2, 3, 4)] == ["on time", "late", "missing"]
    assert sheet.value("F7") == pytest.approx(1 / 3)
    assert sheet.value("F6") == 3
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(workbook_bytes(da.sla_workbook()))
    empty = SlaSheet(openpyxl.load_workbook(blank)["Period log"])
    assert empty.value("E2") == "" and empty.value(f"F{da.BLANK_LOG_ROWS + 3}") == 0


def test_the_commented_feeds_of_the_default_scenario_are_the_example_feeds(tmp_path):
    text = Path("scenarios/default.yaml").read_text()
    start = text.index("# data_feeds:")
    uncommented = "\n".join(line[2:] for line in text[start:].splitlines())
    path = tmp_path / "default_with_feeds.yaml"
    path.write_text(text[:start] + uncommented + "\n")
    scenario = load_scenario(path)
    assert scenario.data_feeds == da.example_feeds(10)
    assert load_scenario("scenarios/default.yaml").data_feeds == []
