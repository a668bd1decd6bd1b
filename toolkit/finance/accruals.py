"""Accrual schedule of a cash LTI: expected payout × share of the service period rendered.

The plan pays cash on service KPIs, so its cost is an **other long-term employee benefit**
(IAS 19.153-158) or a deferred-compensation accrual (ASC 710-10-25-9), not a share-based award
(IFRS 2 / ASC 718 do not apply: there is no equity and no grant-date fair value to lock in).
The liability is the expected payout attributed to the service rendered so far and is
re-measured at every period end; the whole change goes to profit or loss.

Attribution (``method``)
------------------------
A cohort granted at period ``s`` with a window of ``P`` periods is cut into the plan's
tranches (one for ``cliff``, one per window year for ``graded``); tranche ``t`` ends at
``e_t``. After closing period ``k`` the service share of tranche ``t`` is
``min(1, (k − s + 1) / (e_t − s + 1))``.

* ``"straight_line"``: one service period from grant to the last tranche's end; the
  cumulative accrual is ``U_k × min(1, (k − s + 1) / P)``, but never less than what has
  vested (a paid tranche cannot sit as a prepaid asset; ASC 718-10-35-8 states the same
  floor for share awards).
* ``"graded"``: tranche by tranche, each over its own service period from grant to its
  vesting (the "accelerated" attribution of ASC 718-10-35-8 applied per tranche, and the
  benefit-formula attribution of IAS 19.70): early periods carry the first tranche in full and
  a share of every later one, so the cost is front-loaded. For a ``cliff`` plan the two
  methods coincide.

Expected payout (re-estimated each period)
------------------------------------------
With ``g`` the team's grant for the cohort (sum of ``granted``), ``r = g / P`` the value of
a 100 % period, and ``f`` the annual forfeiture rate, at the end of period ``k``:

``U_k = V_k + Σ_{t open} (O_{t,k} + r × n_{t,k} × ŝ_k / 100) × (1 − f) ^ ((e_t − k) / ppy)``

* ``V_k``: what the ledger has vested so far, less malus on deferred amounts and clawback
  (known, no longer at risk of leaving);
* ``O_{t,k}``: the ledger's ``outstanding`` (accrued from scores, after malus on unvested),
  carried by the tranche whose window holds ``k``;
* ``n_{t,k}``: the periods of tranche ``t``'s window still to come after ``k``;
* ``ŝ_k``: the expected score of those periods: ``expected_score="to_date"`` uses the
  cohort's mean score so far (accrued from scores ÷ ``r`` ÷ periods scored × 100), a number
  uses that score (100 = target);
* the survival factor: each unvested tranche is lost by a leaver, so its whole expected value
  is weighted by the chance of staying ``(1 − f)`` per year until its vesting. The ledger has
  no leavers, so the estimate is trued up to ``f = 0`` as tranches vest.

Before the first score, the estimate is the grant-date one: ``ŝ = 100`` for ``"to_date"``.
Pool and cap scaling are known only at vesting and enter ``V`` then, as a change in estimate.

Movements of a period
---------------------
``expense = C_k − C_{k−1}`` (``C`` the cumulative accrual), split into

* ``service_cost = Σ_t U_{t,k−1} × (share_{t,k} − share_{t,k−1})``: the service of the
  period valued at the previous estimate (for straight-line with the cohort's estimate);
* ``forfeitures`` (malus on unvested accruals), ``malus`` (on deferred amounts) and
  ``clawback`` (recovered payments), as the ledger booked them, each reducing the expense;
* ``change_in_estimate``: the rest, so that
  ``expense = service_cost + change_in_estimate − forfeitures − malus − clawback``.

``payments`` are the ledger's gross cash payments; the book liability is ``C_k`` less net
payments to date (gross less clawback), so that over a cohort's life
``Σ expense = Σ (payments − clawback) + liability``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan

METHODS = ("straight_line", "graded")
Method = Literal["straight_line", "graded"]
RUN_FILES = {
    "awards": "awards.parquet",
    "cashflows": "cashflows.parquet",
    "liability": "liability.parquet",
}
EVENTS = ("vest", "pay", "malus", "clawback", "pool_scaling", "cap_scaling")


class AccrualError(ValueError):
    """An accrual input is missing or impossible; the message names it and why."""


@dataclass(frozen=True)
class LedgerTables:
    """The award ledger's tables of a run (see :class:`toolkit.plans.ledger.AwardLedger`)."""

    awards: pd.DataFrame
    cashflows: pd.DataFrame
    liability: pd.DataFrame

    @classmethod
    def from_ledger(cls, ledger) -> LedgerTables:
        """Take the tables of an :class:`~toolkit.plans.ledger.AwardLedger`."""
        return cls(ledger.awards(), ledger.cashflows(), ledger.liability())

    @classmethod
    def read(cls, directory: str | Path) -> LedgerTables:
        """Read ``awards``, ``cashflows`` and ``liability`` Parquet files of a run directory.

        Raises
        ------
        AccrualError
            If a file is missing (naming it).
        """
        root = Path(directory)
        tables = {}
        for name, file in RUN_FILES.items():
            path = root / file
            if not path.is_file():
                raise AccrualError(
                    f"{path}: missing; a run directory holds {sorted(RUN_FILES.values())}"
                )
            tables[name] = pd.read_parquet(path)
        return cls(**tables)


def accrual_schedule(
    tables: LedgerTables,
    plan: Plan,
    periods_per_year: int,
    *,
    method: Method,
    forfeiture_rate: float | None,
    expected_score: float | Literal["to_date"] = "to_date",
) -> pd.DataFrame:
    """Return the accrual schedule per period, cohort and team (rules in the module docstring).

    Parameters
    ----------
    tables : LedgerTables
        The ledger's awards, cashflows and liability tables of one run.
    plan : Plan
        The plan of the run: performance period, vesting schedule and start.
    periods_per_year : int
        12, 4 or 1, as in the run.
    method : {"straight_line", "graded"}
        Attribution of graded tranches to service periods.
    forfeiture_rate : float
        Expected share of people leaving (and forfeiting unvested awards) per year, in
        ``[0, 1)``. Required: the cost depends on it and the toolkit has no basis to assume one.
    expected_score : float or "to_date"
        Score (% of target) expected for the periods not yet scored.

    Returns
    -------
    DataFrame
        ``period``, ``period_index`` (position in the run), ``cohort``, ``team_id``,
        ``method``, ``forfeiture_rate``, ``service_share``, ``expected_payout``,
        ``cumulative_accrual``, ``expense``, ``service_cost``, ``change_in_estimate``,
        ``forfeitures``, ``malus``, ``clawback``, ``payments`` (gross), ``paid_to_date``
        (net of clawback), ``liability`` (book: cumulative accrual less net paid) and
        ``ledger_liability`` (the ledger's outstanding + deferred).

    Raises
    ------
    AccrualError
        If ``forfeiture_rate`` is missing or outside ``[0, 1)``, ``method`` or
        ``expected_score`` is unknown, or the tables miss a column.
    """
    if forfeiture_rate is None:
        raise AccrualError(
            "forfeiture_rate is required: state the expected annual leaver rate "
            "(e.g. 0.05), or 0 to assume nobody leaves before vesting"
        )
    if not 0 <= forfeiture_rate < 1:
        raise AccrualError(f"forfeiture_rate must be in [0, 1) (got {forfeiture_rate})")
    if method not in METHODS:
        raise AccrualError(f"method must be one of {list(METHODS)} (got {method!r})")
    if expected_score != "to_date" and not (
        isinstance(expected_score, int | float) and expected_score >= 0
    ):
        raise AccrualError(f"expected_score must be 'to_date' or a score >= 0 ({expected_score!r})")
    _require(tables.liability, "liability", ("period", "cohort", "team_id", "outstanding"))
    _require(tables.cashflows, "cashflows", ("period", "team_id", "cohort", "kind", "amount"))
    _require(tables.awards, "awards", ("team_id", "cohort", "granted"))

    liability = tables.liability
    labels = list(dict.fromkeys(liability["period"]))
    index = {label: plan.start_after_periods + i for i, label in enumerate(labels)}
    window = plan.performance_period_years * periods_per_year
    tranches = plan.performance_period_years if plan.vesting.schedule == "graded" else 1
    events = (
        tables.cashflows.groupby(["team_id", "cohort", "period", "kind"])["amount"]
        .sum()
        .unstack("kind")
        .reindex(columns=list(EVENTS), fill_value=0.0)
        .fillna(0.0)
    )
    grants = tables.awards.groupby(["team_id", "cohort"])["granted"].sum()
    settings = _Settings(
        window, tranches, periods_per_year, method, forfeiture_rate, expected_score
    )
    rows = []
    for (team, cohort), group in liability.groupby(["team_id", "cohort"], sort=False):
        group = group.assign(period_index=group["period"].map(index)).sort_values("period_index")
        flows = events.reindex(
            pd.MultiIndex.from_product([[team], [cohort], group["period"]]), fill_value=0.0
        ).fillna(0.0)
        rows.append(
            _cohort_schedule(
                group, flows, float(grants.get((team, cohort), 0.0)), index[cohort], settings
            )
        )
    columns = [
        "period",
        "period_index",
        "cohort",
        "team_id",
        "method",
        "forfeiture_rate",
        *SCHEDULE_MONEY,
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.concat(rows, ignore_index=True)
    table["method"] = method
    table["forfeiture_rate"] = float(forfeiture_rate)
    return table[columns].sort_values(["period_index", "cohort", "team_id"], ignore_index=True)


SCHEDULE_MONEY = (
    "service_share",
    "expected_payout",
    "cumulative_accrual",
    "expense",
    "service_cost",
    "change_in_estimate",
    "forfeitures",
    "malus",
    "clawback",
    "payments",
    "paid_to_date",
    "liability",
    "ledger_liability",
)


@dataclass(frozen=True)
class _Settings:
    window: int
    tranches: int
    periods_per_year: int
    method: str
    forfeiture_rate: float
    expected_score: float | str


def _cohort_schedule(
    group: pd.DataFrame, flows: pd.DataFrame, grant: float, start: int, settings: _Settings
) -> pd.DataFrame:
    """Schedule one team's cohort period by period (the rules of the module docstring)."""
    window, ppy = settings.window, settings.periods_per_year
    length = window // settings.tranches
    ends = start + length * np.arange(1, settings.tranches + 1) - 1
    rate = grant / window
    survive = 1.0 - settings.forfeiture_rate

    outstanding = group["outstanding"].to_numpy(float)
    deferred = group["deferred"].to_numpy(float)
    vest, pay = flows["vest"].to_numpy(), flows["pay"].to_numpy()
    malus_all, clawback = flows["malus"].to_numpy(), flows["clawback"].to_numpy()
    scaling = flows["pool_scaling"].to_numpy() + flows["cap_scaling"].to_numpy()
    malus_deferred = vest - pay - np.diff(deferred, prepend=0.0)
    forfeited = malus_all - malus_deferred
    scored = outstanding + np.cumsum(vest + scaling + forfeited)  # accrued from scores
    vested_net = np.cumsum(vest - malus_deferred - clawback)

    def shares(k: int) -> np.ndarray:
        return np.clip((k - start + 1) / (ends - start + 1), 0.0, 1.0)

    def estimate(k: int, held: float, scored_so_far: float) -> np.ndarray:
        """Return the expected value of each open tranche at the end of ``k`` (0 once vested)."""
        elapsed = min(k - start + 1, window)
        if settings.expected_score != "to_date":
            score = float(settings.expected_score)
        elif elapsed <= 0 or rate == 0:
            score = 100.0
        else:
            score = scored_so_far / (rate * elapsed) * 100
        first = start + length * np.arange(settings.tranches)
        to_come = np.clip(ends - np.maximum(k, first - 1), 0, length)
        current = (first <= k) & (k <= ends)
        value = np.where(current, held, 0.0) + rate * to_come * score / 100
        open_ = ends > k
        return np.where(open_, value * survive ** ((ends - k) / ppy), 0.0)

    previous = estimate(start - 1, 0.0, 0.0)
    previous_total = previous.sum()
    cumulative_before, shares_before = 0.0, shares(start - 1)
    out = {name: [] for name in SCHEDULE_MONEY}
    for i, k in enumerate(group["period_index"].to_numpy(int)):
        tranche_values = estimate(k, outstanding[i], scored[i])
        expected = vested_net[i] + tranche_values.sum()
        now = shares(k)
        if settings.method == "graded":
            cumulative = vested_net[i] + float(tranche_values @ now)
            service_cost = float(previous @ (now - shares_before))
            share = float(now.mean())
        else:
            share = min(1.0, (k - start + 1) / window)
            share_before = min(1.0, max(0.0, (k - start) / window))
            cumulative = max(vested_net[i], expected * share)
            service_cost = previous_total * (share - share_before)
        expense = cumulative - cumulative_before
        reductions = forfeited[i] + malus_deferred[i] + clawback[i]
        paid = float(np.sum(pay[: i + 1] - clawback[: i + 1]))
        values = {
            "service_share": share,
            "expected_payout": expected,
            "cumulative_accrual": cumulative,
            "expense": expense,
            "service_cost": service_cost,
            "change_in_estimate": expense - service_cost + reductions,
            "forfeitures": forfeited[i],
            "malus": malus_deferred[i],
            "clawback": clawback[i],
            "payments": pay[i],
            "paid_to_date": paid,
            "liability": cumulative - paid,
            "ledger_liability": outstanding[i] + deferred[i],
        }
        for name, value in values.items():
            out[name].append(float(value))
        previous, previous_total = tranche_values, expected
        cumulative_before, shares_before = cumulative, now
    frame = pd.DataFrame(out)
    frame.insert(0, "team_id", group["team_id"].to_numpy())
    frame.insert(0, "cohort", group["cohort"].to_numpy())
    frame.insert(0, "period_index", group["period_index"].to_numpy(int))
    frame.insert(0, "period", group["period"].to_numpy())
    return frame


def _require(table: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise AccrualError(f"{name} table: missing columns {missing}")


SPLIT_MONEY = tuple(name for name in SCHEDULE_MONEY if name != "service_share")


def accruals_by_person(schedule: pd.DataFrame, awards: pd.DataFrame) -> pd.DataFrame:
    """Split an accrual schedule per person, in proportion to each person's grant.

    Inside a team and cohort every amount of the ledger is proportional to the grant: the
    team's score, pool factor and malus and the organisation's cap scale everyone alike, and a
    clawback recovers the same share of everyone's payments. So a person's accrual is the
    team's times ``granted / team granted`` (an equal split where the team was granted nothing),
    and the people of a team and cohort add up to its row.

    Parameters
    ----------
    schedule : DataFrame
        From :func:`accrual_schedule`.
    awards : DataFrame
        The ledger's awards table of the same run (``person_id``, ``team_id``, ``cohort``,
        ``granted``).

    Returns
    -------
    DataFrame
        ``period``, ``period_index``, ``cohort``, ``team_id``, ``person_id``, ``method``,
        ``forfeiture_rate``, ``share`` (of the team's cohort), ``service_share`` and the
        money columns of the schedule, each the person's part.
    """
    _require(awards, "awards", ("person_id", "team_id", "cohort", "granted"))
    people = awards[["person_id", "team_id", "cohort", "granted"]].copy()
    groups = people.groupby(["team_id", "cohort"])["granted"]
    total, count = groups.transform("sum"), groups.transform("size")
    people["share"] = (people["granted"] / total.where(total > 0)).fillna(1 / count)
    split = schedule.merge(people.drop(columns="granted"), on=["team_id", "cohort"])
    split[list(SPLIT_MONEY)] = split[list(SPLIT_MONEY)].to_numpy() * split[["share"]].to_numpy()
    columns = [
        "period",
        "period_index",
        "cohort",
        "team_id",
        "person_id",
        "method",
        "forfeiture_rate",
        "share",
        *SCHEDULE_MONEY,
    ]
    return split[columns].sort_values(
        ["period_index", "cohort", "team_id", "person_id"], ignore_index=True
    )
