"""Score a plan's KPIs into team scores, period by period: the code payroll and teams share.

:class:`PlanScorer` turns one period of a log into a score per team (% of target award). The
same object scores the reported log for payroll (:meth:`PlanScorer.commit`) and the teams'
counterfactual logs when they weigh their options (:meth:`PlanScorer.score` with ``team_of``),
so a team's expectations and its pay can never follow different rules.

The rules, for period ``k``:

1. **Pre-plan.** Periods ``k < start_after_periods`` score 0 for everyone; committing them
   records the values that form the fixed baselines (and fit the expected-volume model).
2. **Measurement.** Each metric is measured on the period with its own root-cause exclusions and
   SLA tolerance by the KPI library (:mod:`toolkit.plans.measurement`).
3. **Baselines** per real team come from committed periods before ``k``
   (:func:`toolkit.plans.baselines.baseline_values`).
4. **Basis.** ``level``: the (normalised) value; ``improvement``: the fractional improvement over
   the baseline in the KPI's better direction (:func:`toolkit.plans.curves.improvement`).
5. **Normalisation.** ``expected_volume`` (count KPIs): the value becomes observed / expected,
   expected being the Poisson GLM's count for the team's owned services over the period's days
   (:mod:`toolkit.plans.normalisation`), fitted once on the pre-plan periods' per-service
   counts; baselines are normalised alike. ``service_baseline``: the basis is the improvement
   of each (team, service) pair over its own pair baseline, averaged over the team's pairs
   weighted by their baseline volume (:func:`toolkit.plans.baselines.volume_weights`, in rows of
   the metric's table); pairs without volume or with an unbounded improvement are left out.
6. **Curve** → the metric's payout; under a sharing attribution, the team's own-unit payout is
   combined with its credited shares of shared services (:mod:`toolkit.plans.attribution`).
7. **Composite** ``sum(weight × payout) / sum(weight)`` over the metrics that could be measured
   (a metric with nothing to measure is left out and the weights renormalised; none at all
   scores 0): ``raw_score_pct``.
8. **Counter-metrics** (own baselines, no exclusions, no tolerance) fire on their trigger:
   ``zero_metric`` sets the payout of every metric on that KPI to 0 before the composite is
   recomputed, ``multiplier`` multiplies the score, ``zero_award`` sets it to 0, ``audit``
   requests an audit.
9. **Gates.** A gate's KPI summed over the plan year so far (committed periods of the year plus
   ``k``) reaching ``at_least`` sets the score to 0. Plan years start at ``start_after_periods``
   and last ``periods_per_year`` periods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from toolkit.config.errors import ConfigError
from toolkit.config.plan import Baseline, CounterMetric, Metric, Plan
from toolkit.events import EventLog
from toolkit.events.schema import positions
from toolkit.plans.attribution import SEP, credited_payout
from toolkit.plans.baselines import History, baseline_values, volume_weights
from toolkit.plans.curves import curve_payout, improvement
from toolkit.plans.loading import check_plan
from toolkit.plans.measurement import Item, Measured, measure_period, plan_items
from toolkit.plans.normalisation import expected_rates

SERVICE_COLUMNS = ["service_id", "team_id", "criticality", "complexity", "platform_age_years"]
METRIC_COLUMNS = [
    "team_id",
    "index",
    "kpi",
    "value",
    "scored_value",
    "baseline",
    "basis_value",
    "payout_pct",
    "weight",
    "zeroed",
]
CREDIT_COLUMNS = [
    "team_id",
    "index",
    "kpi",
    "service_id",
    "service_payout_pct",
    "credit_pct",
    "stake",
]
DAY = pd.Timedelta(1, "D")


@dataclass(frozen=True)
class TeamScores:
    """One period's scores.

    Attributes
    ----------
    teams : DataFrame
        One row per team id (label) of the scored log: ``team_id``, ``score_pct`` (final score
        in % of target after counter-metrics and gates), ``raw_score_pct`` (the composite before
        them), ``gated``, ``audit_requested`` and ``fired`` (comma-joined names of the
        counter-metrics that fired: the KPI, suffixed ``#i`` when the plan watches a KPI twice).
    metrics : DataFrame
        One row per team × metric: ``team_id, index, kpi``; ``value``, the measured KPI (under
        a sharing attribution, on the team's own unit); ``scored_value``, the value after
        ``expected_volume`` normalisation; ``baseline``, the team's baseline of
        ``scored_value``; ``basis_value``, the level or improvement the curve read (under
        ``service_baseline`` the weighted per-service improvement); ``payout_pct``, the curve's
        payout (under a sharing attribution, the credited payout), before counter-metrics;
        ``weight``; ``zeroed``, whether a ``zero_metric`` counter-metric set it to 0.
    credits : DataFrame
        Under a sharing attribution, one row per team × metric × shared service it worked on:
        ``team_id, index, kpi, service_id``, ``service_payout_pct`` (the payout measured on all
        the service's rows), ``credit_pct`` (the team's credited part of it) and ``stake``
        (see :mod:`toolkit.plans.attribution`); empty under ``owner``.
    """

    teams: pd.DataFrame
    metrics: pd.DataFrame
    credits: pd.DataFrame


def _periods_per_year(periods: pd.DataFrame) -> int:
    """Derive periods per year from the median period length: months 12, quarters 4, years 1."""
    days = ((periods["end"] - periods["start"]) / DAY).median()
    return max(1, round(365.25 / days))


def _fires(counter: CounterMetric, value: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    trigger = counter.trigger
    with np.errstate(invalid="ignore"):
        if trigger.rise_pct_over_baseline is not None:
            return value > baseline * (1 + trigger.rise_pct_over_baseline / 100)
        if trigger.above is not None:
            return value > trigger.above
        return value < trigger.below


class PlanScorer:
    """Score one plan period by period, keeping the committed history baselines come from.

    Parameters
    ----------
    plan : Plan
        The plan; it is cross-checked as :func:`toolkit.plans.load_plan` does.
    services : DataFrame
        ``log.services``: ``service_id``, ``team_id`` (the real owner), ``criticality``,
        ``complexity``, ``platform_age_years``.
    periods : DataFrame
        ``label, start, end`` (half-open), in time order; period ``k`` is ``periods.iloc[k]``.

    Raises
    ------
    ConfigError
        If the plan fails the cross-checks.
    """

    def __init__(self, plan: Plan, services: pd.DataFrame, periods: pd.DataFrame) -> None:
        problems = check_plan(plan)
        if problems:
            raise ConfigError(f"plan {plan.name!r}", problems)
        self.plan = plan
        self.services = services[SERVICE_COLUMNS].reset_index(drop=True)
        self.periods = periods[["label", "start", "end"]].reset_index(drop=True)
        self.days = ((self.periods["end"] - self.periods["start"]) / DAY).to_numpy(dtype=float)
        self.periods_per_year = _periods_per_year(self.periods)
        self.start = plan.start_after_periods
        self.items = plan_items(plan)
        # Expected-volume metrics are measured per pair only before the plan starts: those
        # per-service counts fit the model, and nothing reads them afterwards.
        fitted = {i for i, m in enumerate(plan.metrics) if m.normalisation == "expected_volume"}
        self._pre_plan_items = [
            replace(item, pairs=True) if item.item == "metric" and item.index in fitted else item
            for item in self.items
        ]
        self._history = History()
        self._committed = 0
        self._cache: dict[tuple, pd.DataFrame] = {}
        self._fits: dict[int, pd.DataFrame] = {}
        kpis = [c.kpi for c in plan.counter_metrics]
        self.counter_names = [
            kpi if kpis.count(kpi) == 1 else f"{kpi}#{i}" for i, kpi in enumerate(kpis)
        ]

    @property
    def committed(self) -> int:
        """Number of periods committed so far (periods ``0 .. committed-1``)."""
        return self._committed

    def plan_year(self, period_index: int) -> int:
        """Return the plan year of a period (0 for the first plan year; negative before it)."""
        return (period_index - self.start) // self.periods_per_year

    # -- public API ---------------------------------------------------------------------

    def measure(
        self, log: EventLog, period_index: int, team_of: Mapping[str, str] | None = None
    ) -> pd.DataFrame:
        """Measure every metric, counter-metric and gate KPI of the plan for one period.

        Parameters
        ----------
        log : EventLog
            The log; ``team_id`` may hold labels (see :meth:`score`).
        period_index : int
            The period ``k``.
        team_of : mapping, optional
            Label to real team, as in :meth:`score`.

        Returns
        -------
        DataFrame
            ``team_id, item ("metric" | "counter" | "gate"), index, kpi, value`` for every team
            and item, before normalisation; count KPIs are 0 where nothing was counted. Under a
            sharing attribution a metric's value is the team's own unit.
        """
        self._check_period(period_index)
        real = self._labels(log, team_of)
        return self._measure(log, period_index, real).team.copy()

    def score(
        self,
        log: EventLog,
        period_index: int,
        team_of: Mapping[str, str] | None = None,
        worlds: Mapping[str, str] | None = None,
    ) -> TeamScores:
        """Score period ``k`` against the baselines committed so far, changing no state.

        Parameters
        ----------
        log : EventLog
            The reported log, or a counterfactual one whose ``team_id`` holds labels.
        period_index : int
            The period ``k``; periods ``0 .. k-1`` must have been committed.
        team_of : mapping, optional
            Label to real team (``{"apps#3": "apps"}``): baselines and gate history of a label
            are its real team's. Labels not in it are real teams. Results are keyed by label.
        worlds : mapping, optional
            Label to side world, for labels that stand for their team in another world measured
            in the same log, such as the truth next to the record: they see only their own
            world's rows (see :mod:`toolkit.plans.measurement`).

        Returns
        -------
        TeamScores
            Scores of every label in the log (and every owning team, without ``team_of``).

        Raises
        ------
        ValueError
            If ``k`` is outside the periods or earlier periods are not committed.
        """
        self._check_period(period_index)
        real = self._labels(log, team_of)
        measured = self._measure(log, period_index, real, worlds)
        return self._score(measured, period_index, real)

    def commit(
        self,
        log: EventLog,
        period_index: int,
        team_of: Mapping[str, str] | None = None,
        worlds: Mapping[str, str] | None = None,
    ) -> TeamScores:
        """Score period ``k``, then record the real teams' values for later baselines and gates.

        Parameters
        ----------
        log : EventLog
            The reported log, with real team ids; it may also hold other labels (candidates,
            or a side world such as the truth), scored alongside but never recorded.
        period_index : int
            The next period to commit: periods are committed in order, each once.
        team_of, worlds : mapping, optional
            As in :meth:`score`, for the other labels.

        Returns
        -------
        TeamScores
            The period's scores, as :meth:`score` gives them: the real teams' and those of every
            other label.
        """
        if period_index != self._committed:
            raise ValueError(
                f"periods are committed in order: expected period {self._committed}, "
                f"got {period_index}"
            )
        self._check_period(period_index)
        team_of = team_of or {}
        worlds = worlds or {}
        real = self._labels(log, {**{t: t for t in self.services["team_id"]}, **team_of})
        measured = self._measure(log, period_index, real, worlds)
        scores = self._score(measured, period_index, real)
        own = [label for label, team in real.items() if label == team and label not in worlds]
        self._record(measured.restricted(own), period_index)
        return scores

    def baselines(self, index: int, level: str = "team") -> pd.Series:
        """Return metric ``index``'s baselines for the next period, from the committed ones.

        Why: to tell before a run what a metric can pay (an improvement over a baseline near a
        share's ceiling can only be small), read the baselines the scorer itself would use.

        Parameters
        ----------
        index : int
            The metric's position in the plan.
        level : str
            ``"team"``; ``"pair"`` (keys ``team SEP service``) for metrics measured per pair
            (``service_baseline`` or a sharing attribution); ``"service"`` for metrics under a
            sharing attribution.

        Returns
        -------
        Series
            Baselines by key under the metric's baseline policy; missing where nothing was
            measured.
        """
        item = self._metric_items()[index]
        metric = self.plan.metrics[index]
        return self._baseline(
            level, "metric", index, self._committed, metric.baseline, item.direction
        )

    # -- measurement and history ----------------------------------------------------------

    def _check_period(self, k: int) -> None:
        if not 0 <= k < len(self.periods):
            raise ValueError(f"period {k} is outside the {len(self.periods)} periods")
        if k > self._committed:
            raise ValueError(
                f"period {k} needs periods 0..{k - 1} committed first ({self._committed} committed)"
            )

    def _labels(self, log: EventLog, team_of: Mapping[str, str] | None) -> dict[str, str]:
        """Map every label to score to its real team, in sorted label order."""
        found = {
            team
            for frame in (log.incidents, log.changes)
            for team in pd.unique(frame["team_id"].to_numpy(dtype=object))
            if isinstance(team, str)  # not missing
        }
        found |= set(self.services["team_id"]) if team_of is None else set(team_of)
        team_of = team_of or {}
        return {label: team_of.get(label, label) for label in sorted(found)}

    def _measure(
        self, log: EventLog, k: int, real: dict[str, str], worlds: Mapping[str, str] | None = None
    ) -> Measured:
        bounds = self.periods.iloc[k]
        return measure_period(
            log,
            bounds["start"],
            bounds["end"],
            self._pre_plan_items if k < self.start else self.items,
            self.services,
            real,
            self.plan.attribution,
            worlds,
        )

    def _record(self, measured: Measured, k: int) -> None:
        """Commit period ``k``: team values, pair values (normalised metrics), service values."""
        add = self._history.add
        for (item, index), values in measured.by_item.items():
            add(k, "team", item, index, measured.labels, values)
        pairs = measured.pairs
        keys = (pairs["team_id"] + SEP + pairs["service_id"]).to_numpy(dtype=object)
        index = pairs["index"].to_numpy()
        value, volume = pairs["value"].to_numpy(dtype=float), pairs["volume"].to_numpy(float)
        for i in pd.unique(index):
            mine = index == i
            add(k, "pair", "metric", int(i), keys[mine], value[mine], volume[mine])
        for i, (view, coalitions) in measured.shared.items():
            grand = view.stakes.drop_duplicates("service_id").set_index("service_id")["grand"]
            pooled = coalitions.set_index("coalition")["value"].reindex(grand.to_numpy())
            own = pairs.loc[(pairs["index"] == i) & ~pairs["service_id"].isin(grand.index)]
            add(
                k,
                "service",
                "metric",
                i,
                np.concatenate(
                    [grand.index.to_numpy(dtype=object), own["service_id"].to_numpy(object)]
                ),
                np.concatenate([pooled.to_numpy(dtype=float), own["value"].to_numpy(dtype=float)]),
            )
        self._committed += 1

    def _matrix(
        self, level: str, item: str, index: int, k: int, column: str = "value"
    ) -> pd.DataFrame:
        """Return committed values before period ``k``; they never change once committed."""
        key = ("matrix", level, item, index, k, column)
        if key not in self._cache:
            self._cache[key] = self._history.matrix(level, item, index, k, column)
        return self._cache[key]

    def _baseline(
        self,
        level: str,
        item: str,
        index: int,
        k: int,
        policy: Baseline,
        better: str,
        scale: pd.DataFrame | None = None,
    ) -> pd.Series:
        """Return baselines by key from the committed values (divided by ``scale`` if given)."""
        values = self._matrix(level, item, index, k)
        if scale is not None:
            values = values / scale.reindex(index=values.index, columns=values.columns)
        return pd.Series(
            baseline_values(values.to_numpy(), policy, self.start, better), index=values.index
        )

    # -- expected volumes -----------------------------------------------------------------

    def _expected(self, index: int) -> pd.DataFrame:
        """Return a metric's expected counts by real team (rows) and period (columns).

        The GLM is fitted once, on the committed pre-plan per-service counts (services without
        a count in a period counted 0), with each period's days as exposure.
        """
        if index not in self._fits:
            counts = self._history.matrix("pair", "metric", index, self.start)
            service = counts.index.str.split(SEP).str[1]
            per_service = counts.groupby(service).sum().reindex(self.services["service_id"])
            long = per_service.fillna(0.0).stack().rename("count").reset_index()
            long.columns = ["service_id", "period", "count"]
            long["exposure"] = self.days[long["period"].to_numpy(dtype=int)]
            rates = self.services["service_id"].map(expected_rates(long, self.services))
            team_rate = rates.groupby(self.services["team_id"]).sum()
            self._fits[index] = pd.DataFrame(
                np.outer(team_rate.to_numpy(), self.days), index=team_rate.index
            )
        return self._fits[index]

    # -- scoring ------------------------------------------------------------------------

    def _score(self, measured: Measured, k: int, real: dict[str, str]) -> TeamScores:
        labels = pd.Index(list(real), dtype="str")
        teams = np.array([real[label] for label in labels], dtype=object)
        credit_parts: list[pd.DataFrame] = []
        metrics = [
            self._metric(item, metric, measured, k, labels, teams, credit_parts)
            for item, metric in zip(self._metric_items(), self.plan.metrics, strict=True)
        ]
        n = len(labels)
        payout = np.column_stack([m["payout_pct"] for m in metrics] or [np.zeros(n)])
        weight = np.array([m.weight for m in self.plan.metrics] or [0.0])
        zeroed = np.zeros(payout.shape, dtype=bool)
        multiplier = np.ones(n)
        zero_award = np.zeros(n, dtype=bool)
        audit = np.zeros(n, dtype=bool)
        fired_names: list[list[str]] = [[] for _ in range(n)]
        gated = np.zeros(n, dtype=bool)
        if k >= self.start:
            for j, counter in enumerate(self.plan.counter_metrics):
                fired = self._counter(j, counter, measured, k, teams)
                for row in np.flatnonzero(fired):
                    fired_names[row].append(self.counter_names[j])
                if counter.action == "zero_metric":
                    on_kpi = np.array([m.kpi == counter.metric for m in self.plan.metrics])
                    zeroed |= fired[:, None] & on_kpi[None, :]
                elif counter.action == "multiplier":
                    multiplier = np.where(fired, multiplier * counter.multiplier, multiplier)
                elif counter.action == "zero_award":
                    zero_award |= fired
                else:
                    audit |= fired
            for g, gate in enumerate(self.plan.gates):
                gated |= self._gate_total(g, measured, k, teams) >= gate.at_least
        raw = _composite(payout, weight)
        final = _composite(np.where(zeroed, 0.0, payout), weight) * multiplier
        final = np.where(zero_award | gated, 0.0, final)
        if metrics:
            for m, column in zip(metrics, zeroed.T, strict=True):
                m["zeroed"] = column
            table = pd.DataFrame(
                {c: np.concatenate([m[c] for m in metrics]) for c in METRIC_COLUMNS}
            )
            table["team_id"] = table["team_id"].astype("str")
            table["kpi"] = table["kpi"].astype("str")
        else:
            table = pd.DataFrame(columns=METRIC_COLUMNS)
        out = pd.DataFrame(
            {
                "team_id": labels,
                "score_pct": final,
                "raw_score_pct": raw,
                "gated": gated,
                "audit_requested": audit,
                "fired": [",".join(names) for names in fired_names],
            }
        )
        credits = (
            pd.concat(credit_parts, ignore_index=True)[CREDIT_COLUMNS]
            if credit_parts
            else pd.DataFrame(columns=CREDIT_COLUMNS)
        )
        return TeamScores(teams=out, metrics=table, credits=credits)

    def _metric_items(self) -> list[Item]:
        return [item for item in self.items if item.item == "metric"]

    def _metric(
        self,
        item: Item,
        metric: Metric,
        measured: Measured,
        k: int,
        labels: pd.Index,
        teams: np.ndarray,
        credit_parts: list[pd.DataFrame],
    ) -> dict[str, np.ndarray]:
        """Return one metric's columns, a value per label; append its credits under sharing."""
        n = len(labels)
        value = measured.values("metric", item.index).astype(float)
        frame = {
            "team_id": labels.to_numpy(dtype=object),
            "index": np.full(n, item.index),
            "kpi": np.full(n, item.kpi, dtype=object),
            "value": value,
            "scored_value": value,
            "baseline": np.full(n, np.nan),
            "basis_value": np.full(n, np.nan),
            "payout_pct": np.zeros(n),
            "weight": np.full(n, metric.weight),
            "zeroed": np.zeros(n, dtype=bool),
        }
        if k < self.start:
            return frame
        scale = None
        if metric.normalisation == "expected_volume":
            scale = self._expected(item.index)
            frame["scored_value"] = value / _at(scale[k], teams)
        base = self._baseline(
            "team", "metric", item.index, k, metric.baseline, item.direction, scale
        )
        frame["baseline"] = _at(base, teams)
        if metric.normalisation == "service_baseline":
            frame["basis_value"] = self._service_basis(item, metric, measured, k, labels, teams)
        elif metric.basis == "improvement":
            frame["basis_value"] = improvement(
                frame["scored_value"], frame["baseline"], item.direction
            )
        else:
            frame["basis_value"] = frame["scored_value"]
        frame["payout_pct"] = curve_payout(metric.curve, frame["basis_value"])
        if item.view == "shared":
            view, coalitions = measured.shared[item.index]
            level = coalitions["value"].to_numpy(dtype=float)
            if metric.basis == "improvement":
                service_base = self._baseline(
                    "service", "metric", item.index, k, metric.baseline, item.direction
                )
                level = improvement(
                    level, coalitions["service_id"].map(service_base).to_numpy(), item.direction
                )
            coalition_payout = pd.Series(
                curve_payout(metric.curve, level), index=coalitions["coalition"].to_numpy()
            )
            own = pd.Series(frame["payout_pct"], index=labels)
            payout, credits = credited_payout(view, coalition_payout, own)
            frame["payout_pct"] = payout.to_numpy(dtype=float)
            credit_parts.append(credits.assign(index=item.index, kpi=item.kpi))
        return frame

    def _service_basis(
        self,
        item: Item,
        metric: Metric,
        measured: Measured,
        k: int,
        labels: pd.Index,
        teams: np.ndarray,
    ) -> np.ndarray:
        """Average each label's per-service improvements, weighted by baseline volume."""
        pairs = measured.pairs.loc[measured.pairs["index"] == item.index]
        real = dict(zip(labels, teams, strict=True))
        keys = pairs["team_id"].map(real) + SEP + pairs["service_id"]
        base = self._baseline("pair", "metric", item.index, k, metric.baseline, item.direction)
        volumes = self._matrix("pair", "metric", item.index, k, "volume")
        weights = pd.Series(
            volume_weights(volumes.to_numpy(), metric.baseline, self.start), index=volumes.index
        )
        gain = improvement(pairs["value"], keys.map(base).to_numpy(), item.direction)
        weight = keys.map(weights).fillna(0.0).to_numpy()
        use = np.isfinite(gain) & (weight > 0)
        frame = pd.DataFrame(
            {
                "team_id": pairs["team_id"].to_numpy()[use],
                "wg": (weight * gain)[use],
                "w": weight[use],
            }
        )
        sums = frame.groupby("team_id")[["wg", "w"]].sum().reindex(labels)
        return (sums["wg"] / sums["w"]).to_numpy()

    def _counter(
        self, j: int, counter: CounterMetric, measured: Measured, k: int, teams: np.ndarray
    ) -> np.ndarray:
        """Return whether counter-metric ``j`` fires, per label."""
        value = measured.values("counter", j).astype(float)
        direction = next(i.direction for i in self.items if i.item == "counter" and i.index == j)
        base = self._baseline("team", "counter", j, k, counter.baseline, direction)
        return _fires(counter, value, _at(base, teams))

    def _gate_total(self, g: int, measured: Measured, k: int, teams: np.ndarray) -> np.ndarray:
        """Sum gate ``g``'s KPI over the plan year so far: committed periods of it plus ``k``."""
        now = np.nan_to_num(measured.values("gate", g).astype(float))
        year_start = self.start + self.plan_year(k) * self.periods_per_year
        history = self._matrix("team", "gate", g, k).loc[:, year_start : k - 1]
        before = np.nan_to_num(_at(history.sum(axis=1), teams))
        return now + before


def _at(values: pd.Series, keys: np.ndarray) -> np.ndarray:
    """Return ``values`` at ``keys`` (missing where absent): a reindex matching Python objects."""
    found = positions(values.index, keys)
    out = np.full(len(keys), np.nan)
    out[found >= 0] = values.to_numpy(dtype=float)[found[found >= 0]]
    return out


def _composite(payout: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weight the measurable payouts of each row; a row with none scores 0."""
    present = ~np.isnan(payout)
    total = (np.where(present, payout, 0.0) * weight).sum(axis=1)
    weights = (present * weight).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weights > 0, total / weights, 0.0)


def score_log(plan: Plan, log: EventLog, periods: pd.DataFrame) -> TeamScores:
    """Score every period of one log under a plan, committing each in turn.

    Why: to see what a plan's rules (normalisation, exclusions, tolerance, attribution) do to
    the same outcomes, score one fixed log under variants of the plan; the teams' behaviour is
    held fixed, so every difference comes from the rule.

    Parameters
    ----------
    plan : Plan
        The plan.
    log : EventLog
        The log scored, with real team ids (e.g. a run's reported or true log).
    periods : DataFrame
        ``label, start, end`` in time order, e.g. ``World(scenario, seed).periods``.

    Returns
    -------
    TeamScores
        Every period's tables stacked, each with a ``period`` column (the label) and
        ``plan_period`` (whether the plan scores it: after ``start_after_periods``).
    """
    scorer = PlanScorer(plan, log.services, periods)
    parts: dict[str, list[pd.DataFrame]] = {"teams": [], "metrics": [], "credits": []}
    for k, label in enumerate(scorer.periods["label"]):
        scores = scorer.commit(log, k)
        for name in parts:
            table = getattr(scores, name)
            parts[name].append(table.assign(period=label, plan_period=k >= scorer.start))
    return TeamScores(*(pd.concat(parts[name], ignore_index=True) for name in parts))
