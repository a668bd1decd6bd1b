"""Measure a plan's KPIs on one period of a log, with the KPI library and nothing else.

Items (metrics, counter-metrics, gates) that share root-cause exclusions, tolerance, defect
window and view are measured together in one :func:`toolkit.metrics.compute.kpi_rows` call on
the rows of the log that can count in the period. There are three views of a period:

- ``plain``: the log as it is, labels in ``team_id``; every incident and change KPI.
- ``availability``: for KPIs on the outages table, each label gets its own copy of its real
  team's services (``service_id`` suffixed with the label), the outages on them and the
  priority-1 incidents on them that the label handled or that another team's status-quo label
  of its world handled, so that every label's availability reflects its own incidents and the
  status quo of others.
- ``shared``: rows relabelled for coalition measurement (:mod:`toolkit.plans.attribution`),
  for metrics under a sharing attribution.

Worlds: the main world holds the record, where a label is its team's status quo when it is the
team's own id, and the candidates teams weigh (``apps#3``); a side world (the truth, measured in
the same call as the record) holds one status-quo label per team. Labels of different worlds
never see each other's rows, so one measurement serves both (see :mod:`toolkit.plans.attribution`).

Root-cause exclusions are applied with the cut to the period (:func:`period_rows`). A metric
with a defect penalty reads its KPI net of ``change_caused_incidents`` measured in the same
call (:func:`_net_of_defects`), so the defects it counts are those the period's rows show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.events import SCHEMA, EventLog, empty_table
from toolkit.events.schema import positions, text
from toolkit.metrics.availability import HIGHEST_PRIORITY
from toolkit.metrics.compute import kpi_rows
from toolkit.metrics.context import ALL, DEFECT_WINDOW_DAYS, KpiRows, entity_codes
from toolkit.plans.attribution import SEP, SharedView, shared_view
from toolkit.plans.loading import COUNT_UNITS, kpi_by_name

# The KPIs that read ``sla_tolerance`` and ``defect_window_days`` (see
# :func:`toolkit.metrics.compute_kpis`).
TOLERANT = frozenset({"sla_attainment"})
DEFECTS = "change_caused_incidents"  # what a metric's defect penalty takes off its throughput
WINDOWED = frozenset({DEFECTS})
# Incident KPIs that read the outages table for their incidents' covariates (a vendor outage
# when the incident opened), however the outages themselves count.
READS_OUTAGES = frozenset({"csat_adjusted"})


@dataclass(frozen=True)
class Item:
    """One measured KPI of a plan: a metric, a counter-metric or a gate."""

    item: str
    index: int
    kpi: str
    table: str
    unit: str
    direction: str
    exclude: tuple[str, ...] = ()
    tolerance: float = 0.0
    view: str = "plain"
    pairs: bool = False
    defect: tuple[float, float] | None = None  # a metric's defect penalty: window, per incident

    @property
    def measured(self) -> str:
        """The name of the rows the item reads: its KPI, or its KPI net of defects."""
        return self.kpi if self.defect is None else f"{self.kpi} net of defects x{self.defect[1]!r}"

    @property
    def window(self) -> float | None:
        """The defect window the item's measurement needs, if it reads one."""
        if self.defect is not None:
            return self.defect[0]
        return DEFECT_WINDOW_DAYS if self.kpi in WINDOWED else None


def measurement_groups(items: list[Item]) -> dict[tuple, list[Item]]:
    """Group items measured in one call: same view and exclusions, one tolerance and window.

    Only the KPIs in :data:`TOLERANT` read the SLA tolerance and only those in :data:`WINDOWED`
    (or a metric with a defect penalty) the defect window, so each of them sets its group's,
    and the other items join the first group with their view and exclusions.

    Returns
    -------
    dict
        ``(view, exclude, tolerance, window)`` → the items, in the order first met.
    """
    groups: dict[tuple, list[Item]] = {}
    free = []
    for item in items:
        tolerance = item.tolerance if item.kpi in TOLERANT else None
        if tolerance is None and item.window is None:
            free.append(item)
            continue
        window = DEFECT_WINDOW_DAYS if item.window is None else item.window
        key = (item.view, item.exclude, tolerance or 0.0, window)
        groups.setdefault(key, []).append(item)
    for item in free:
        key = next(
            (key for key in groups if key[:2] == (item.view, item.exclude)),
            (item.view, item.exclude, 0.0, DEFECT_WINDOW_DAYS),
        )
        groups.setdefault(key, []).append(item)
    return groups


def plan_items(plan: Plan) -> list[Item]:
    """List the plan's metrics, counter-metrics and gates as items to measure."""
    known = kpi_by_name()
    items = []
    for kind, entries in (("metric", plan.metrics), ("counter", plan.counter_metrics)):
        for i, entry in enumerate(entries):
            kpi = known[entry.kpi]
            if kpi.table == "outages":
                view = "availability"
            elif kind == "metric" and plan.attribution != "owner":
                view = "shared"
            else:
                view = "plain"
            penalty = getattr(entry, "defect_penalty", None)
            items.append(
                Item(
                    kind,
                    i,
                    entry.kpi,
                    kpi.table,
                    kpi.unit,
                    kpi.direction,
                    tuple(sorted(getattr(entry, "exclude_root_causes", ()))),
                    getattr(entry, "tolerance", 0.0),
                    view,
                    kind == "metric"
                    and (view == "shared" or entry.normalisation == "service_baseline"),
                    None if penalty is None else (penalty.window_days, penalty.per_incident),
                )
            )
    for i, gate in enumerate(plan.gates):
        kpi = known[gate.kpi]
        items.append(Item("gate", i, gate.kpi, kpi.table, kpi.unit, kpi.direction))
    return items


@dataclass
class Measured:
    """What one period of a log measured.

    Attributes
    ----------
    team : DataFrame
        ``team_id, item, index, kpi, value``: every label × item; for a metric under a sharing
        attribution, the label's own unit. Count KPIs with no rows are 0.
    pairs : DataFrame
        ``team_id, service_id, index, value, volume``: metric values per label and service, with
        the rows behind them (1 per service for availability).
    shared : dict
        Metric index → (its :class:`SharedView`, coalition values: ``coalition, service_id,
        value``), for metrics under a sharing attribution.
    by_item : dict
        ``(item, index)`` → the values of ``team`` for that item, as an array in label order.
    labels : ndarray
        The labels, in order.
    """

    team: pd.DataFrame
    pairs: pd.DataFrame
    shared: dict[int, tuple[SharedView, pd.DataFrame]] = field(default_factory=dict)
    by_item: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    labels: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    def values(self, item: str, index: int) -> np.ndarray:
        """Return one item's values in label order (the order of ``real`` when measured)."""
        return self.by_item[item, index]

    def restricted(self, labels: list[str]) -> Measured:
        """Return the measurement of some labels only, in the order they had."""
        keep = np.isin(self.labels, labels)
        team = self.team.loc[self.team["team_id"].isin(labels)].reset_index(drop=True)
        pairs = self.pairs.loc[self.pairs["team_id"].isin(labels)].reset_index(drop=True)
        shared = {}
        for index, (view, coalitions) in self.shared.items():
            stakes = view.stakes.loc[view.stakes["label"].isin(labels)]
            shared[index] = (replace(view, stakes=stakes), coalitions)
        by_item = {key: values[keep] for key, values in self.by_item.items()}
        return Measured(team, pairs, shared, by_item, self.labels[keep])


def period_rows(
    log: EventLog, start: pd.Timestamp, end: pd.Timestamp, exclude: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Mark the rows that can count in ``[start, end)``, less those of excluded root causes.

    Incidents open at some time in the period (so every KPI placing them by opening or
    resolution, and downtime overlapping it, is kept), changes implemented in it and outages
    overlapping it. Excluded root causes remove incidents with those causes and, since outage
    sources use the same words (``vendor``, ``external``), outages of those sources; they do
    not apply to changes.

    Returns
    -------
    dict
        ``incidents``, ``changes`` and ``outages``: one boolean per row of the table.
    """
    inc, chg, out = log.incidents, log.changes, log.outages
    keep_inc = (inc["opened_at"] < end) & ~(inc["resolved_at"] < start)
    keep_out = (out["start"] < end) & ~(out["end"] < start)
    if exclude:
        keep_inc &= ~inc["root_cause"].isin(exclude)
        keep_out &= ~out["source"].isin(exclude)
    keep_chg = (chg["implemented_at"] >= start) & (chg["implemented_at"] < end)
    return {
        "incidents": keep_inc.to_numpy(dtype=bool),
        "changes": keep_chg.to_numpy(dtype=bool),
        "outages": keep_out.to_numpy(dtype=bool),
    }


def period_tables(
    log: EventLog, start: pd.Timestamp, end: pd.Timestamp, exclude: tuple[str, ...] = ()
) -> dict[str, pd.DataFrame]:
    """Return the rows of each table that :func:`period_rows` marks."""
    rows = period_rows(log, start, end, exclude)
    return {table: getattr(log, table).loc[keep] for table, keep in rows.items()}


def _copies(row_teams: pd.Series, label_teams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair each row with every label of its team: row and label positions, row by row."""
    codes, teams = pd.factorize(label_teams)
    row_codes = positions(teams, row_teams)
    return np.nonzero((row_codes[:, None] == codes[None, :]) & (row_codes[:, None] >= 0))


def _relabelled(
    frame: pd.DataFrame, rows: np.ndarray, labels: np.ndarray, team_too: bool = True
) -> pd.DataFrame:
    """Copy ``frame``'s rows under labels: ``service_id`` suffixed, ``team_id`` the label."""
    copied = frame.iloc[rows]
    service = text(copied["service_id"].to_numpy(dtype=object) + SEP + labels)
    changed = {"service_id": service, **({"team_id": text(labels)} if team_too else {})}
    return copied.assign(**changed)


def _availability_view(
    tables: dict[str, pd.DataFrame],
    services: pd.DataFrame,
    real: Mapping[str, str],
    worlds: Mapping[str, str],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Give every label its own copy of its real team's services (see the module docstring)."""
    owner = dict(zip(services["service_id"], services["team_id"], strict=True))
    label = np.array(list(real), dtype=object)
    label_team = np.array(list(real.values()), dtype=object)
    label_world = np.array([worlds.get(lab, "") for lab in label], dtype=object)
    rows, labs = _copies(services["team_id"], label_team)
    own_services = _relabelled(services, rows, label[labs])
    own_services = own_services.assign(business_unit=text([None] * len(own_services)))
    own_services = own_services[list(SCHEMA["services"])]
    incidents = tables["incidents"]
    p1 = incidents.loc[(incidents["priority"] == HIGHEST_PRIORITY).to_numpy()]
    team = p1["team_id"].to_numpy(dtype=object)
    service = p1["service_id"].to_numpy(dtype=object)
    handler = np.array([real.get(t) for t in team], dtype=object)
    owning = [owner.get(s, h) for s, h in zip(service, handler, strict=True)]
    owning = np.array(owning, dtype=object)
    known = np.array([h is not None for h in handler], dtype=bool)
    mine = known & (handler == owning)
    status_quo = (team == handler) | np.isin(team, list(worlds))
    helping = known & (handler != owning) & status_quo
    # a helped incident counts for the owning team's labels in the helper's world
    helper_world = np.array([worlds.get(t, "") for t in team[helping]], dtype=object)
    rows, labs = _copies(owning[helping] + SEP + helper_world, label_team + SEP + label_world)
    helped = _relabelled(p1.loc[helping], rows, label[labs])
    out = tables["outages"]
    out_owner = np.array([owner.get(s) for s in out["service_id"]], dtype=object)
    rows, labs = _copies(out_owner, label_team)
    out = _relabelled(out, rows, label[labs], team_too=False)
    view = {
        **tables,
        "incidents": pd.concat(
            [p1.loc[mine].assign(service_id=text(service[mine] + SEP + team[mine])), helped],
            ignore_index=True,
        ),
        "outages": out,
    }
    return view, own_services


def _net_of_defects(rows: KpiRows, members: list[Item]) -> KpiRows:
    """Add, for each metric with a defect penalty, its KPI's rows net of the defects.

    Each row of the KPI (a label, a service or coalition, or the label's whole unit) loses
    ``per_incident`` times the ``change_caused_incidents`` of the same row, down to 0, since
    delivery cannot count for less than nothing. The net rows are named
    :attr:`Item.measured`, so that a counter-metric on the same KPI still reads it gross.
    """
    penalised = {m.measured: m for m in members if m.defect is not None}
    if not penalised:
        return rows
    caused = rows.take(rows.kpi == DEFECTS)
    found = dict(
        zip(zip(caused.team_id, caused.service_id, strict=True), caused.value, strict=True)
    )
    parts = [rows]
    for name, m in penalised.items():
        gross = rows.take(rows.kpi == m.kpi)
        keys = zip(gross.team_id, gross.service_id, strict=True)
        defects = np.array([found.get(key, 0.0) for key in keys], dtype=float)
        net = np.maximum(gross.value - m.defect[1] * defects, 0.0)
        parts.append(replace(gross, kpi=np.full(len(net), name, dtype=object), value=net))
    return KpiRows.concat(parts)


def _by_label(rows: KpiRows, labels: pd.Index, kpis: list[str]) -> np.ndarray:
    """Return a kpis × labels matrix of values, missing where a label has no value.

    Rows of KPIs not asked for (a penalised metric's gross KPI and the defects it is netted
    of) are left out: they have no row of the matrix to go in.
    """
    matrix = np.full((len(kpis), len(labels)), np.nan)
    column = positions(labels, rows.team_id)
    row = positions(kpis, rows.kpi)
    known = (column >= 0) & (row >= 0)
    matrix[row[known], column[known]] = rows.value[known]
    return matrix


def _pair_volumes(
    keys: tuple, rows: np.ndarray, teams: np.ndarray, services: np.ndarray
) -> np.ndarray:
    """Count ``rows`` of a table of each (team, service) pair asked for; 0 where it has none.

    ``keys`` are the table's team and service codes (:func:`entity_codes`).
    """
    team, team_ids, service, service_ids = keys
    counts = np.bincount(
        (team * len(service_ids) + service)[rows & (team >= 0) & (service >= 0)],
        minlength=len(team_ids) * len(service_ids),
    )
    row = positions(team_ids, teams)
    column = positions(service_ids, services)
    found = (row >= 0) & (column >= 0)
    return np.where(found, counts[np.maximum(row, 0) * len(service_ids) + column], 0).astype(float)


def measure_period(
    log: EventLog,
    start: pd.Timestamp,
    end: pd.Timestamp,
    items: list[Item],
    services: pd.DataFrame,
    real: Mapping[str, str],
    attribution: str,
    worlds: Mapping[str, str] | None = None,
) -> Measured:
    """Measure every item for every label on ``[start, end)``.

    Parameters
    ----------
    log : EventLog
        The (reported or counterfactual) log; ``team_id`` holds labels.
    start, end : Timestamp
        The period.
    items : list of Item
        From :func:`plan_items`.
    services : DataFrame
        The scorer's services with their real owning teams.
    real : mapping
        Every label (in the log or wanted in the output) to its real team.
    attribution : str
        The plan's attribution rule.
    worlds : mapping, optional
        Label to side world, for the labels of side worlds (see the module docstring).

    Returns
    -------
    Measured
        The values; one KPI measurement per group of items.
    """
    labels = pd.Index(list(real))
    worlds = worlds or {}
    done: list[Item] = []
    values: list[np.ndarray] = []
    pair_parts, shared = [], {}
    shared_views: dict[tuple[str, tuple[str, ...]], SharedView] = {}
    groups = measurement_groups(items)
    counted: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
    codes: dict[str, tuple] = {}  # the log's team and service codes, per table, made once
    for (view, exclude, tolerance, window), members in groups.items():
        if exclude not in counted:
            counted[exclude] = period_rows(log, start, end, exclude)
        where = counted[exclude]
        # The plain view measures the log itself, told which rows count; the others are views
        # of the rows that count, built anew.
        cut = {t: getattr(log, t) for t in where}
        cut_services = log.services
        views: dict[str, SharedView] = {}
        if view == "availability":
            p1 = (log.incidents["priority"] == HIGHEST_PRIORITY).to_numpy()
            cut = {
                "incidents": log.incidents.loc[where["incidents"] & p1],
                "changes": log.changes,
                "outages": log.outages.loc[where["outages"]],
            }
            cut, cut_services = _availability_view(cut, services, real, worlds)
        elif view == "shared":
            cut = {t: frame.loc[where[t]] for t, frame in cut.items()}
            for table in sorted({m.table for m in members}):
                if (table, exclude) not in shared_views:
                    prefix = f"{SEP}{table}{SEP}"
                    shared_views[table, exclude] = shared_view(
                        cut[table], real, attribution, prefix, worlds
                    )
                views[table] = shared_views[table, exclude]
                cut = {**cut, table: views[table].rows}
        # Tables no KPI of the group reads go in empty, which spares their conversion.
        reads_incidents = view == "availability" or any(m.window is not None for m in members)
        needed = {m.table for m in members} | ({"incidents"} if reads_incidents else set())
        cut = {t: frame if t in needed else empty_table(t) for t, frame in cut.items()}
        if view != "availability" and any(m.kpi in READS_OUTAGES for m in members):
            cut["outages"] = log.outages  # covariates of the incidents, not rows that count
        counts = {t: where[t] for t in needed} if view == "plain" else None
        for table in counts or ():
            if table not in codes:
                codes[table] = entity_codes(cut[table])
        penalised = any(m.defect for m in members)
        kpis = sorted({m.kpi for m in members} | ({DEFECTS} if penalised else set()))
        wants_pairs = view == "shared" or any(m.pairs for m in members)
        rows = kpi_rows(
            EventLog(**cut, services=cut_services, start=start, end=end),
            period="all",
            sla_tolerance=tolerance,
            kpis=kpis,
            levels=("pair", "team") if wants_pairs else ("team",),
            where=counts,
            keys={t: codes[t] for t in counts} if counts else None,
            defect_window_days=window,
        )
        rows = _net_of_defects(rows, members)
        measured = sorted({m.measured for m in members})
        is_team = rows.service_id == ALL
        labelled = positions(labels, rows.team_id) >= 0
        if view == "shared":  # coalitions are measured under ids that start with SEP
            coalition = np.array([str(t).startswith(SEP) for t in rows.team_id], dtype=bool)
        team_values = _by_label(rows.take(is_team), labels, measured)
        for m in members:
            fill = 0.0 if m.unit in COUNT_UNITS else np.nan
            done.append(m)
            values.append(np.nan_to_num(team_values[measured.index(m.measured)], nan=fill))
            if not m.pairs:
                continue
            of_kpi = ~is_team & (rows.kpi == m.measured)
            pair_rows = rows.take(of_kpi & labelled)
            pairs = pd.DataFrame(
                {
                    "team_id": pair_rows.team_id,
                    "service_id": pair_rows.service_id,
                    "value": pair_rows.value,
                }
            )
            if view == "availability":
                service = pairs["service_id"].str.split(SEP).str[0]
                pairs = pairs.assign(service_id=service, volume=1.0)
            else:
                table = cut[m.table]
                if counts:
                    mine, keys = counts[m.table], codes[m.table]
                else:
                    mine, keys = np.ones(len(table), dtype=bool), entity_codes(table)
                volume = _pair_volumes(keys, mine, pair_rows.team_id, pair_rows.service_id)
                pairs = pairs.assign(volume=volume)
            pair_parts.append(pairs.assign(index=m.index))
            if view == "shared":
                coalition_rows = rows.take(of_kpi & coalition)
                found = dict(zip(coalition_rows.team_id, coalition_rows.value, strict=True))
                coalitions = views[m.table].coalitions
                value = coalitions["coalition"].map(found).fillna(fill)
                shared[m.index] = (views[m.table], coalitions.assign(value=value))
    n = len(labels)
    team = pd.DataFrame(
        {
            "team_id": np.tile(labels.to_numpy(dtype=object), len(done)),
            "item": np.repeat([m.item for m in done], n),
            "index": np.repeat([m.index for m in done], n).astype(int),
            "kpi": np.repeat([m.kpi for m in done], n),
            "value": np.concatenate(values) if values else np.array([], dtype=float),
        }
    )
    pair_columns = ["team_id", "service_id", "index", "value", "volume"]
    pairs = (
        pd.concat(pair_parts, ignore_index=True)[pair_columns]
        if pair_parts
        else pd.DataFrame(columns=pair_columns)
    )
    by_item = {(m.item, m.index): v for m, v in zip(done, values, strict=True)}
    return Measured(team, pairs, shared, by_item, labels.to_numpy(dtype=object))
