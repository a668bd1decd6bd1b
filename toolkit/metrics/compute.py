"""Compute KPIs on any event log: simulated truth, a reported view or an ingested export."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from toolkit.events import EventLog
from toolkit.events.periods import PERIODS
from toolkit.metrics.context import (
    ALL,
    DEFECT_WINDOW_DAYS,
    KPI_COLUMNS,
    LEVELS,
    KpiRows,
    MeasureContext,
)
from toolkit.metrics.registry import CATALOGUE, KPI, ordered_catalogue


def _select(kpis: Iterable[str] | str | None) -> tuple[list[KPI], set[str] | None]:
    """Resolve requested names to the KPIs that compute them; ``None`` keeps every row."""
    if kpis is None:
        return list(CATALOGUE.values()), None
    wanted = {kpis} if isinstance(kpis, str) else set(kpis)
    owner = {name: kpi for kpi in CATALOGUE.values() for name in (kpi.name, *kpi.variants)}
    unknown = sorted(wanted - set(owner))
    if unknown:
        raise ValueError(f"unknown KPI name(s) {unknown}; known KPIs: {sorted(owner)}")
    selected = {owner[name].name: owner[name] for name in wanted}
    return list(selected.values()), wanted


def kpi_rows(
    log: EventLog,
    period: str = "quarter",
    sla_tolerance: float = 0.0,
    kpis: Iterable[str] | str | None = None,
    levels: Iterable[str] = LEVELS,
    where: Mapping[str, np.ndarray] | None = None,
    keys: Mapping[str, tuple] | None = None,
    defect_window_days: float = DEFECT_WINDOW_DAYS,
) -> KpiRows:
    """Measure KPIs as :func:`compute_kpis` does, returning unsorted arrays.

    Plan scoring measures small logs many times; reading the arrays spares it building and
    sorting a table each time. The parameters and errors are those of :func:`compute_kpis`,
    plus ``where``: per table (``"incidents"``, ``"changes"``, ``"outages"``), one boolean per
    row, ``True`` for the rows that count; the result is that of the log holding only those.
    ``keys`` passes tables' team and service codes already known
    (:func:`toolkit.metrics.context.entity_codes`), so that measuring one log several ways
    codes it once.
    """
    if not math.isfinite(defect_window_days) or defect_window_days <= 0:
        raise ValueError(
            f"defect_window_days must be a finite number of days > 0, got {defect_window_days!r}"
        )
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; choose one of {list(PERIODS)}")
    if not math.isfinite(sla_tolerance) or sla_tolerance < 0:
        raise ValueError(f"sla_tolerance must be a finite fraction >= 0, got {sla_tolerance!r}")
    selected, wanted = _select(kpis)
    asked = set(levels)
    if not asked or asked - set(LEVELS):
        raise ValueError(f"levels must be among {list(LEVELS)}, got {sorted(asked)}")
    ordered = tuple(level for level in LEVELS if level in asked)
    ctx = MeasureContext(
        log, period, sla_tolerance, defect_window_days, ordered, wanted, where, keys
    )
    rows = KpiRows.concat([kpi.compute(ctx) for kpi in selected])
    if wanted is not None:
        rows = rows.take(np.isin(rows.kpi, list(wanted)))
    return rows


def compute_kpis(
    log: EventLog,
    period: str = "quarter",
    sla_tolerance: float = 0.0,
    kpis: Iterable[str] | str | None = None,
    levels: Iterable[str] = LEVELS,
    defect_window_days: float = DEFECT_WINDOW_DAYS,
) -> pd.DataFrame:
    """Measure KPIs per period at pair, team and organisation level.

    Parameters
    ----------
    log : EventLog
        Any log in the canonical schema; periods are cut inside ``log.start`` .. ``log.end``.
    period : str
        ``"month"`` (labels like ``"2025-03"``), ``"quarter"`` (``"2025Q1"``), ``"year"``
        (``"2025"``) or ``"all"`` (the whole window as one period labelled ``"all"``).
    sla_tolerance : float
        Grace on SLA targets as a fraction (0.1 = 10%); used by ``sla_attainment``.
    kpis : iterable of str, optional
        Restrict the output to these KPI names (catalogue names or per-priority variants such
        as ``mttr_mean_hours_p1``); all KPIs by default.
    levels : iterable of str
        The levels to compute: ``"pair"``, ``"team"`` and ``"org"`` (all by default).
    defect_window_days : float
        Days after implementation within which a linked incident is a change's defect; used by
        ``change_caused_incidents`` (14 by default, ITIL's early-life support).

    Returns
    -------
    DataFrame
        Columns ``period, team_id, service_id, kpi, value`` with rows per (team_id, service_id)
        pair, per team (``service_id == "ALL"``) and organisation-wide (both ``"ALL"``), each
        level computed from the raw rows. A rate with no rows to divide by gives no row. Sorted
        by ``period, team_id, service_id, kpi``.

    Raises
    ------
    ValueError
        For an unknown period, level or KPI name, a negative or non-finite tolerance, or a
        defect window that is not a positive number of days.

    Examples
    --------
    >>> from toolkit.config import load_scenario  # doctest: +SKIP
    >>> from toolkit.sim import World
    >>> log = World(load_scenario("scenarios/small.yaml"), seed=1).run()
    >>> kpis = compute_kpis(log, period="year", kpis=["mttr_mean_hours", "sla_attainment"])
    >>> kpis[(kpis["team_id"] == "ALL")].pivot(index="period", columns="kpi", values="value")
    """
    rows = kpi_rows(log, period, sla_tolerance, kpis, levels, defect_window_days=defect_window_days)
    codes = [pd.factorize(getattr(rows, key), sort=True)[0] for key in KPI_COLUMNS[:-1]]
    return rows.take(np.lexsort(codes[::-1])).frame()


def summary(log: EventLog, sla_tolerance: float = 0.0) -> pd.DataFrame:
    """Summarise the whole window organisation-wide, one row per catalogue KPI.

    Parameters
    ----------
    log : EventLog
        Any log in the canonical schema.
    sla_tolerance : float
        Grace on SLA targets as a fraction (0.1 = 10%).

    Returns
    -------
    DataFrame
        Columns ``kpi, value, unit, direction`` in catalogue listing order; ``value`` is missing
        where the log holds nothing to measure (say, no CSAT scores).
    """
    kpis = compute_kpis(log, period="all", sla_tolerance=sla_tolerance)
    org = kpis.loc[(kpis["team_id"] == ALL) & (kpis["service_id"] == ALL)]
    values = org.set_index("kpi")["value"]
    catalogue = ordered_catalogue()
    return pd.DataFrame(
        {
            "kpi": pd.Series([kpi.name for kpi in catalogue], dtype="str"),
            "value": [values.get(kpi.name, float("nan")) for kpi in catalogue],
            "unit": pd.Series([kpi.unit for kpi in catalogue], dtype="str"),
            "direction": pd.Series([kpi.direction for kpi in catalogue], dtype="str"),
        }
    )
