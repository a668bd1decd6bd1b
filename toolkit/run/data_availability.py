"""Late and missing data: when each period's data arrives, and how the plan scores it meanwhile.

A scenario's ``data_feeds`` are the sources the KPIs are computed from (the ITSM incident
export, the CSAT survey, a vendor's service report), each with a processing deadline in days
after a period's end and a lognormal delivery delay. A feed matters to a plan when it carries
a KPI the plan rewards, watches or gates. The rules, for a plan period ``k``:

1. **Delivery.** Each feed draws, per period and from its own stream (``feeds/<id>``), whether
   the period's delivery never comes (``missing_probability``) and its delay in days
   (``median_days × exp(sigma × z)``); the draws are the same whatever the plan.
2. **On time** when every feed that matters delivered by its deadline: the period's score is
   final at its close.
3. **Late** otherwise. Feed ``f``'s data is in at the close of the first later period ``j``
   with ``end_j + deadline_f ≥ end_k + delay_f`` (a close happens at a period's end plus the
   feed's deadline); the period settles when all its late feeds are in. Under
   ``provisional`` the ledger books the team's last known value at ``k`` (its last final
   score, 100 % of target before any), under ``hold`` nothing; at settlement the ledger books
   the difference to the final score as a true-up of period ``k``
   (:meth:`toolkit.plans.ledger.AwardLedger.close_period`).
4. **Missing** when a feed never delivers, or delivers after ``missing_after_periods`` closes
   past ``k``: the period settles at close ``k + missing_after_periods`` with the plan's
   ``missing`` rule: ``last_known`` (the provisional value stands; under ``hold`` the last
   known value at settlement) or ``zero``.

A feed a vendor supplies (``supplier``) is bound by the vendor contract's data-sharing clause
(``data_deliveries`` of the same ``content``): a delivery due ``d`` days after the period's end
with ``completeness_pct`` 100 brings the whole period by day ``d``, so the delay is
``min(draw, d)``; an incomplete one (below 100 %) leaves records out, the period's data is whole
only when the rest follows, and the delay stays the draw. Missing deliveries stay missing: the
clause moves when data comes, not whether. Without a clause for its content the feed keeps its
own delay.

A period still unsettled at the horizon's end stays at what was booked. The measurement is not
delayed: scores, baselines and the teams' adaptation read the final data as before; only the
money waits. Without feeds that matter nothing here draws or changes anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from toolkit.config.plan import Plan
from toolkit.config.scenario import DataFeed, Scenario
from toolkit.sim.streams import stream

TARGET_SCORE = 100.0  # the last known value before any: the plan's target
STATUSES = ("on_time", "provisional", "held", "missing")
DELIVERY_COLUMNS = [
    "period",
    "feed",
    "deadline_days",
    "clause_due_days",
    "delay_days",
    "missing",
    "late",
]
COLUMNS = [
    "period",
    "team_id",
    "status",
    "late_feeds",
    "delay_days",
    "settled_period",
    "booked_score_pct",
    "final_score_pct",
    "provisional_accrual",
    "true_up",
    "final_accrual",
]


def plan_kpis(plan: Plan) -> set[str]:
    """Return the KPIs a plan's scores depend on: rewarded, watched and gated."""
    return (
        {m.kpi for m in plan.metrics}
        | {c.kpi for c in plan.counter_metrics}
        | {g.kpi for g in plan.gates}
    )


def feeds_used(feeds: Sequence[DataFeed], plan: Plan) -> list[DataFeed]:
    """Return the feeds carrying a KPI the plan's scores depend on, in scenario order."""
    kpis = plan_kpis(plan)
    return [feed for feed in feeds if kpis.intersection(feed.kpis)]


def clause_due_days(scenario: Scenario) -> dict[str, float]:
    """Return, per vendor-supplied feed, the day its contract's complete delivery is due.

    Parameters
    ----------
    scenario : Scenario
        Its ``data_feeds`` and its vendors' contracts.

    Returns
    -------
    dict of str to float
        Feed id to ``due_days_after_period_end`` of the supplier's delivery of the feed's
        ``content`` when that delivery is complete (``completeness_pct`` 100; the earliest, if
        several are); feeds without such a clause are left out: an incomplete delivery does
        not make the period whole.
    """
    contracts = {v.id: v.contract for v in scenario.organisation.vendors if v.contract}
    due = {}
    for feed in scenario.data_feeds:
        if feed.supplier is None or feed.supplier.vendor not in contracts:
            continue
        days = [
            float(d.due_days_after_period_end)
            for d in contracts[feed.supplier.vendor].data_deliveries
            if d.content == feed.supplier.content and d.completeness_pct >= 100
        ]
        if days:  # of two complete deliveries of the content, the first brings the data
            due[feed.id] = min(days)
    return due


def draw_deliveries(
    feeds: Sequence[DataFeed],
    labels: Sequence[str],
    seed: int,
    due_days: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Draw when each feed delivers each period's data (rule 1).

    Parameters
    ----------
    feeds : sequence of DataFeed
        The scenario's feeds (or any of them: each has its own stream).
    labels : sequence of str
        The periods' labels, in order.
    seed : int
        The run's seed.
    due_days : mapping of str to float, optional
        Per feed, the day a data-sharing clause brings its complete data by
        (:func:`clause_due_days`); the delay is then at most that. The draws are the same with
        or without a clause, so a clause's effect is seen on common random numbers.

    Returns
    -------
    DataFrame
        One row per period and feed: ``period``, ``feed``, ``deadline_days``,
        ``clause_due_days`` (NaN without a clause), ``delay_days`` (NaN when missing),
        ``missing`` and ``late`` (missing or after the deadline).
    """
    due_days = due_days or {}
    rows = []
    for feed in feeds:
        rng = stream(seed, f"feeds/{feed.id}")
        due = due_days.get(feed.id, math.inf)
        for label in labels:
            u_missing, z = rng.random(), rng.gauss(0.0, 1.0)
            missing = u_missing < feed.missing_probability
            drawn = feed.delay.median_days * math.exp(feed.delay.sigma * z)
            delay = math.nan if missing else min(drawn, due)
            rows.append(
                {
                    "period": str(label),
                    "feed": feed.id,
                    "deadline_days": float(feed.deadline_days),
                    "clause_due_days": due if math.isfinite(due) else math.nan,
                    "delay_days": delay,
                    "missing": missing,
                    "late": missing or delay > feed.deadline_days,
                }
            )
    return pd.DataFrame(rows, columns=DELIVERY_COLUMNS).astype(
        {
            "period": "str",
            "feed": "str",
            "deadline_days": float,
            "clause_due_days": float,
            "delay_days": float,
        }
    )


def settling_close(ends: Sequence[pd.Timestamp], k: int, delay: float, deadline: float) -> int:
    """Return the first close after ``k`` at which data ``delay`` days after ``k``'s end is in.

    The index may lie past the horizon (``len(ends)`` and beyond), when it is never in.
    """
    for j in range(k + 1, len(ends)):
        if (ends[j] - ends[k]) / pd.Timedelta(days=1) + deadline >= delay:
            return j
    return len(ends)


@dataclass
class _Period:
    """A plan period's data availability: what was booked, what the data gives."""

    period: int
    settle: int  # the close at which its score is final
    status: str
    late_feeds: str
    delay_days: float
    booked: dict[str, float]  # per team: the score the ledger booked at the deadline
    final: dict[str, float]  # per team: the score the data gives
    value: dict[str, float]  # per team: what a 100 % score accrues in the period


class DataAvailability:
    """Decide, period by period, what the ledger books when data is late, and keep the record.

    Parameters
    ----------
    feeds : sequence of DataFeed
        The scenario's feeds.
    plan : Plan
        Its KPIs decide which feeds matter; ``late_data`` how late periods are scored.
    periods : DataFrame
        The run's periods: ``label``, ``start``, ``end``.
    seed : int
        The run's seed.
    due_days : mapping of str to float, optional
        Per vendor-supplied feed, the day its data-sharing clause brings complete data by
        (:func:`clause_due_days`).
    """

    def __init__(
        self,
        feeds: Sequence[DataFeed],
        plan: Plan,
        periods: pd.DataFrame,
        seed: int,
        due_days: Mapping[str, float] | None = None,
    ) -> None:
        self.rule = plan.late_data
        self.start_after = plan.start_after_periods
        self.labels = [str(label) for label in periods["label"]]
        self.ends = list(periods["end"])
        self.feeds = feeds_used(feeds, plan)
        self.deliveries = draw_deliveries(self.feeds, self.labels, seed, due_days)
        self._late = [self._lateness(k) for k in range(len(self.labels))]
        self._pending: list[_Period] = []
        self._last_known: dict[str, float] = {}
        self._last_final = -1  # the latest period whose score is final
        self._rows: list[dict] = []

    def _lateness(self, k: int) -> tuple[str, int, str, float] | None:
        """Return period ``k``'s status, settling close, late feeds and longest delay."""
        if k < self.start_after or not self.feeds:
            return None
        rows = self.deliveries.iloc[k :: len(self.labels)]
        late = rows[rows["late"].to_numpy(dtype=bool)]
        if late.empty:
            return None
        never = len(self.ends) + self.rule.missing_after_periods
        settle = max(
            never
            if row.missing
            else settling_close(self.ends, k, row.delay_days, row.deadline_days)
            for row in late.itertuples()
        )
        status = "provisional" if self.rule.policy == "provisional" else "held"
        if settle > k + self.rule.missing_after_periods:
            status, settle = "missing", k + self.rule.missing_after_periods
        return status, settle, ",".join(late["feed"]), self._longest(k)

    def _longest(self, k: int) -> float:
        """Return the longest delay of period ``k``'s feeds in days (inf if one never came)."""
        rows = self.deliveries.iloc[k :: len(self.labels)]
        return math.inf if rows["missing"].any() else float(rows["delay_days"].max())

    def close(
        self, k: int, scores: Mapping[str, float], value: Mapping[str, float]
    ) -> tuple[dict[str, float], list[tuple[int, dict[str, float]]]]:
        """Return what the ledger books at close ``k``: this period's scores and true-ups.

        Parameters
        ----------
        k : int
            The period closing; periods close in order.
        scores : mapping of str to float
            Per team, period ``k``'s final score in % of target (what the data gives).
        value : mapping of str to float
            Per team, what a 100 % score in period ``k`` accrues
            (:meth:`toolkit.plans.ledger.AwardLedger.period_value`), for the record's money.

        Returns
        -------
        booked : dict of str to float
            The scores to close period ``k`` with.
        true_ups : list of (int, dict of str to float)
            Earlier periods settled now, with each team's final less booked score.
        """
        true_ups = []
        for entry in [p for p in self._pending if p.settle == k]:
            self._pending.remove(entry)
            if entry.status == "missing":
                entry.final = self._missing_final(entry)
            true_ups.append(
                (entry.period, {t: entry.final[t] - entry.booked[t] for t in entry.booked})
            )
            self._remember(entry.period, entry.final)
            self._record(entry, settled=True)
        final = {team: float(score) for team, score in scores.items()}
        late = self._late[k]
        if late is None:
            self._remember(k, final)
            if k >= self.start_after and self.feeds:
                entry = _Period(k, k, "on_time", "", self._longest(k), final, final, dict(value))
                self._record(entry, settled=True)
            return final, true_ups
        status, settle, feeds, longest = late
        if self.rule.policy == "provisional":
            booked = {team: self._last_known.get(team, TARGET_SCORE) for team in final}
        else:
            booked = dict.fromkeys(final, 0.0)
        self._pending.append(_Period(k, settle, status, feeds, longest, booked, final, dict(value)))
        return booked, true_ups

    def _missing_final(self, entry: _Period) -> dict[str, float]:
        """Return the final scores of a period whose data never came (rule 4)."""
        if self.rule.missing == "zero":
            return dict.fromkeys(entry.booked, 0.0)
        if self.rule.policy == "provisional":
            return dict(entry.booked)
        return {team: self._last_known.get(team, TARGET_SCORE) for team in entry.booked}

    def _remember(self, k: int, final: Mapping[str, float]) -> None:
        """Keep the latest final scores as the last known value."""
        if k >= self.start_after and k > self._last_final:
            self._last_final = k
            self._last_known = dict(final)

    def _record(self, entry: _Period, settled: bool) -> None:
        self._rows += self._rows_of(entry, settled)

    def _rows_of(self, entry: _Period, settled: bool) -> list[dict]:
        """Return a period's rows of the record, one per team."""
        rows = []
        for team, booked in entry.booked.items():
            value = entry.value.get(team, 0.0)
            final = entry.final[team] if settled else booked
            rows.append(
                {
                    "period": self.labels[entry.period],
                    "team_id": team,
                    "status": entry.status,
                    "late_feeds": entry.late_feeds,
                    "delay_days": entry.delay_days,
                    "settled_period": self.labels[entry.settle] if settled else "",
                    "booked_score_pct": booked,
                    "final_score_pct": final,
                    "provisional_accrual": value * booked / 100,
                    "true_up": value * (final - booked) / 100,
                    "final_accrual": value * final / 100,
                }
            )
        return rows

    @staticmethod
    def empty() -> pd.DataFrame:
        """Return the record of a run without feeds: no rows, the record's columns."""
        return _typed(pd.DataFrame(columns=COLUMNS))

    def table(self) -> pd.DataFrame:
        """Return the record: one row per plan period and team, in period order.

        Returns
        -------
        DataFrame
            ``period``, ``team_id``, ``status`` (one of ``on_time``, ``provisional``,
            ``held``, ``missing``), ``late_feeds`` (ids of the feeds that missed the deadline,
            comma-separated), ``delay_days`` (the longest delay of the plan's feeds; inf when
            one never delivered), ``settled_period`` (the close at which the score became
            final; empty while unsettled at the horizon's end), ``booked_score_pct`` (what the
            ledger booked at the deadline), ``final_score_pct`` (what the data gives, after
            the missing rule; the booked score while unsettled), and money before pool and cap
            scaling: ``provisional_accrual`` (booked at the deadline), ``true_up`` (booked at
            settlement) and ``final_accrual`` (their sum). Empty when no feed matters.
        """
        rows = self._rows + [row for entry in self._pending for row in self._rows_of(entry, False)]
        table = pd.DataFrame(rows, columns=COLUMNS)
        order = {label: i for i, label in enumerate(self.labels)}
        table = table.sort_values(
            ["period", "team_id"], key=lambda c: c.map(order) if c.name == "period" else c
        ).reset_index(drop=True)
        return _typed(table)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Give the record's columns their types, so that empty and full tables agree."""
    text = ("period", "team_id", "status", "late_feeds", "settled_period")
    return table.astype({c: "str" if c in text else float for c in COLUMNS})
