"""What every KPI function receives: the log, the periods, and rows stacked at three levels."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from toolkit.events import EventLog
from toolkit.events.periods import assign_periods, period_bounds

ALL = "ALL"
KEYS = ["period", "team_id", "service_id"]
KPI_COLUMNS = [*KEYS, "kpi", "value"]
LEVELS = ("pair", "team", "org")  # (team, service) pairs, teams, the organisation
# ITIL's early-life support after a change: incidents within two weeks are the change's defects.
DEFECT_WINDOW_DAYS = 14.0


@dataclass(frozen=True)
class KpiRows:
    """Measured values as parallel arrays: the tidy table before it is built.

    KPI functions return these so that a measurement builds one DataFrame at the end (or none,
    when plan scoring reads the arrays directly) rather than one per KPI.
    """

    period: np.ndarray
    team_id: np.ndarray
    service_id: np.ndarray
    kpi: np.ndarray
    value: np.ndarray

    @classmethod
    def concat(cls, parts: list[KpiRows]) -> KpiRows:
        """Stack several sets of rows."""
        if not parts:
            empty = np.array([], dtype=object)
            return cls(empty, empty, empty, empty, np.array([], dtype=float))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in KPI_COLUMNS))

    def take(self, index: np.ndarray) -> KpiRows:
        """Return the rows at ``index`` (positions or a boolean mask)."""
        return KpiRows(*(getattr(self, f)[index] for f in KPI_COLUMNS))

    def frame(self) -> pd.DataFrame:
        """Return the rows as the tidy table ``period, team_id, service_id, kpi, value``."""
        frame = pd.DataFrame({f: getattr(self, f) for f in KPI_COLUMNS[:-1]}, dtype="str")
        frame["value"] = self.value.astype(float)
        return frame


class Rows:
    """Some rows of a table, each column taken only when a KPI reads it.

    A KPI reads a few columns of a table that has many, so taking every column of the rows
    would cost more than the measurement. ``rows[name]`` is the column as a Series.
    """

    def __init__(self, table: pd.DataFrame, index: np.ndarray) -> None:
        self._table, self._index = table, index
        self._columns: dict[str, pd.Series] = {}

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self._columns:
            self._columns[name] = self._table[name].iloc[self._index]
        return self._columns[name]

    def __len__(self) -> int:
        return len(self._index)


class Grouped:
    """The rows of one table assigned to periods, with group codes at each reporting level.

    Every row counts once for its (team, service) pair, once for its team and once for the
    organisation, so each level is computed from the raw rows: a team's value is never an
    average of its services' values. Rows without a team or service count only at the levels
    that do not need it. Aggregation works on integer group codes with numpy, so the cost of a
    measurement grows with its rows, not with the number of pandas operations.

    Parameters
    ----------
    table : DataFrame
        A table of the log with ``team_id`` and ``service_id`` columns.
    period : ndarray of int
        Each row's period position (-1 for rows outside every period, which are dropped).
    labels : ndarray of str
        The period labels, by position.
    levels : tuple of str
        The levels to compute, from :data:`LEVELS`.
    keys : tuple, optional
        ``(team codes, teams, service codes, services)`` of every row of ``table``, from
        :func:`entity_codes`; computed here if not given.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        period: np.ndarray,
        labels: np.ndarray,
        levels: tuple[str, ...] = LEVELS,
        keys: tuple | None = None,
    ) -> None:
        keep = period >= 0
        self.rows = Rows(table, np.flatnonzero(keep))
        self.labels = labels
        period = period[keep]
        team, teams, service, services = keys or entity_codes(table)
        team, service = team[keep], service[keep]
        names = {
            "team": np.append(np.asarray(teams, dtype=object), ALL),
            "service": np.append(np.asarray(services, dtype=object), ALL),
        }
        n_team, n_service = len(teams) + 1, len(services) + 1
        known = {"pair": (team >= 0) & (service >= 0), "team": team >= 0}
        entity = {
            "pair": team * n_service + service,
            "team": team * n_service + (n_service - 1),
            "org": np.full(len(period), (n_team - 1) * n_service + (n_service - 1)),
        }
        self._levels = []
        for level in levels:
            rows = known.get(level, np.ones(len(period), dtype=bool))
            seen, position = _ranked(entity[level][rows], n_team * n_service)
            self._levels.append(
                _Level(
                    rows=rows,
                    code=position * len(labels) + period[rows],
                    period=np.tile(np.arange(len(labels)), len(seen)),
                    team=names["team"][np.repeat(seen // n_service, len(labels))],
                    service=names["service"][np.repeat(seen % n_service, len(labels))],
                )
            )

    def _tidy(self, level: _Level, value: np.ndarray, present: np.ndarray):
        return {
            "period": self.labels[level.period[present]],
            "team_id": level.team[present],
            "service_id": level.service[present],
            "value": value[present],
        }

    def _rows(self, kpi: str, parts: list[dict]) -> KpiRows:
        columns = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        n = len(columns["value"])
        return KpiRows(
            *(columns[key] for key in KEYS), np.full(n, kpi, dtype=object), columns["value"]
        )

    def aggregate(
        self, kpi: str, values: pd.Series, how: str, where: pd.Series | None = None
    ) -> KpiRows:
        """Aggregate ``values`` per group, skipping missing values; groups with none give no row.

        Parameters
        ----------
        kpi : str
            The name written in the ``kpi`` column.
        values : Series
            One value per row (aligned with :attr:`rows`).
        how : str
            ``"mean"`` or ``"median"``.
        where : Series of bool, optional
            Restricts the rows aggregated.

        Returns
        -------
        KpiRows
            Rows ``period, team_id, service_id, kpi, value``.
        """
        if how not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {how!r}; choose one of {list(AGGREGATIONS)}")
        values = np.asarray(values, dtype=float)
        use = ~np.isnan(values)
        if where is not None:
            use &= np.asarray(where, dtype=bool)
        parts = []
        for level in self._levels:
            chosen = use[level.rows]
            code = level.code[chosen]
            value = AGGREGATIONS[how](code, values[level.rows][chosen], len(level.period))
            parts.append(self._tidy(level, value, ~np.isnan(value)))
        return self._rows(kpi, parts)

    def reduce(
        self, kpi: str, values: pd.Series, function: Callable[[np.ndarray], float]
    ) -> KpiRows:
        """Apply ``function`` to each group's values, skipping missing ones; NaN gives no row.

        For a statistic that is neither a mean nor a median (say, a fitted estimate), at the
        cost of one Python call per group.

        Parameters
        ----------
        kpi : str
            The name written in the ``kpi`` column.
        values : Series
            One value per row (aligned with :attr:`rows`).
        function : callable
            Takes a group's values (possibly none) and returns a float, NaN for "no value".

        Returns
        -------
        KpiRows
            Rows ``period, team_id, service_id, kpi, value``.
        """
        values = np.asarray(values, dtype=float)
        use = ~np.isnan(values)
        parts = []
        for level in self._levels:
            chosen = use[level.rows]
            code = level.code[chosen]
            order = np.argsort(code, kind="stable")
            counts = np.bincount(code, minlength=len(level.period))
            groups = np.split(values[level.rows][chosen][order], np.cumsum(counts)[:-1])
            value = np.array([function(group) for group in groups[: len(counts)]], dtype=float)
            parts.append(self._tidy(level, value, ~np.isnan(value)))
        return self._rows(kpi, parts)

    def count(self, kpi: str, where: pd.Series | None = None) -> KpiRows:
        """Count rows per group, with zeros for every period of every group seen in the window.

        A pair (or team) that has rows in this table anywhere in the window gets a count in every
        period, 0 included; a table with no rows in the window gives no rows at all, because "no
        data" (say, an export without changes) is not "none happened".

        Parameters
        ----------
        kpi : str
            The name written in the ``kpi`` column.
        where : Series of bool, optional
            Counts only these rows.

        Returns
        -------
        KpiRows
            Rows ``period, team_id, service_id, kpi, value``.
        """
        parts = []
        for level in self._levels:
            code = level.code if where is None else level.code[np.asarray(where)[level.rows]]
            value = np.bincount(code, minlength=len(level.period)).astype(float)
            parts.append(self._tidy(level, value, np.ones(len(value), dtype=bool)))
        return self._rows(kpi, parts)

    def total(self, kpi: str, values: pd.Series) -> KpiRows:
        """Sum ``values`` per group, with zeros where :meth:`count` would give them.

        For counts carried by rows of another table (say, the incidents each change caused),
        which are as much a count as the rows themselves.

        Parameters
        ----------
        kpi : str
            The name written in the ``kpi`` column.
        values : Series
            One non-negative number per row (aligned with :attr:`rows`).

        Returns
        -------
        KpiRows
            Rows ``period, team_id, service_id, kpi, value``.
        """
        values = np.asarray(values, dtype=float)
        parts = []
        for level in self._levels:
            weights = values[level.rows]
            value = np.bincount(level.code, weights=weights, minlength=len(level.period))
            parts.append(self._tidy(level, value, np.ones(len(value), dtype=bool)))
        return self._rows(kpi, parts)


def _ranked(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct codes in ``[0, size)``, sorted, and each code's rank among them.

    A table of present codes is cheaper than sorting while ``size`` is not much larger than
    the number of codes; beyond that, sorting is.
    """
    if size > 4 * len(codes) + 1024:
        seen = np.unique(codes)
        return seen, np.searchsorted(seen, codes)
    present = np.zeros(size, dtype=bool)
    present[codes] = True
    return np.flatnonzero(present), (np.cumsum(present) - 1)[codes]


def entity_codes(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Code a table's teams and services in sorted order (-1 where missing).

    Returns
    -------
    tuple
        ``(team codes, teams, service codes, services)``.
    """
    team, teams = pd.factorize(table["team_id"].to_numpy(dtype=object), sort=True)
    service, services = pd.factorize(table["service_id"].to_numpy(dtype=object), sort=True)
    return team, teams, service, services


@dataclass(frozen=True)
class _Level:
    """One reporting level of a :class:`Grouped`: which rows count and the group of each.

    Groups are numbered entity by entity, period by period, so that group ``g`` is the
    ``g % periods``-th period of the ``g // periods``-th entity; ``period``, ``team`` and
    ``service`` describe every group.
    """

    rows: np.ndarray
    code: np.ndarray
    period: np.ndarray
    team: np.ndarray
    service: np.ndarray


def _mean(code: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    counts = np.bincount(code, minlength=groups)
    sums = np.bincount(code, weights=values, minlength=groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _median(code: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    order = np.lexsort((values, code))
    sorted_values = values[order]
    counts = np.bincount(code, minlength=groups)
    first = np.cumsum(counts) - counts
    low = first + np.maximum(counts - 1, 0) // 2
    high = first + counts // 2
    out = np.full(groups, np.nan)
    has = counts > 0
    out[has] = (sorted_values[low[has]] + sorted_values[np.minimum(high[has], len(values) - 1)]) / 2
    return out


AGGREGATIONS = {"mean": _mean, "median": _median}


class MeasureContext:
    """One measurement of a log: its periods, the tolerance, and cached stacked tables.

    Parameters
    ----------
    log : EventLog
        The log measured.
    period : str
        ``"month"``, ``"quarter"``, ``"year"`` or ``"all"``.
    sla_tolerance : float
        The SLA tolerance band, as a fraction of the target (0.1 = 10% grace).
    defect_window_days : float
        Days after a change's implementation within which an incident linked to it counts as
        the change's defect (``change_caused_incidents``).
    levels : tuple of str
        The reporting levels to compute, from :data:`LEVELS`.
    wanted : set of str, optional
        The KPI names asked for (with variants); ``None`` asks for all.
    where : mapping of str to ndarray of bool, optional
        Per table, the rows that count; the others are left out as if absent. Plan scoring
        measures one log several ways (say, with and without some root causes) and this spares
        it a copy of the log each time.
    keys : mapping of str to tuple, optional
        Per table, its rows' team and service codes from :func:`entity_codes`, when the caller
        has them already (say, from measuring the same table another way).
    """

    def __init__(
        self,
        log: EventLog,
        period: str,
        sla_tolerance: float,
        defect_window_days: float = DEFECT_WINDOW_DAYS,
        levels: tuple[str, ...] = LEVELS,
        wanted: set[str] | None = None,
        where: Mapping[str, np.ndarray] | None = None,
        keys: Mapping[str, tuple] | None = None,
    ) -> None:
        self.where = {table: np.asarray(rows) for table, rows in (where or {}).items()}
        for table, rows in self.where.items():
            frame = getattr(log, table, None)
            if not isinstance(frame, pd.DataFrame) or rows.dtype != bool or len(rows) != len(frame):
                raise ValueError(f"where[{table!r}] must hold one boolean per row of the table")
        self.log = log
        self.wanted = wanted
        self.sla_tolerance = sla_tolerance
        self.defect_window_days = defect_window_days
        self.levels = levels
        self.bounds = period_bounds(log.start, log.end, period)
        self.labels = self.bounds["label"].to_numpy(dtype=object)
        self._grouped: dict[tuple[str, str], Grouped] = {}
        self._keys: dict[str, tuple] = dict(keys or {})

    @functools.cached_property
    def counted(self) -> EventLog:
        """Return the log holding only the rows that count (itself when every row does)."""
        if not self.where:
            return self.log
        kept = {table: getattr(self.log, table).loc[rows] for table, rows in self.where.items()}
        return replace(self.log, **kept)

    def wants(self, name: str) -> bool:
        """Tell whether a KPI name (or variant) was asked for, so others need not be computed."""
        return self.wanted is None or name in self.wanted

    def grouped(self, table: str, time_column: str) -> Grouped:
        """Return ``table``'s rows assigned to periods by ``time_column`` (computed once).

        Parameters
        ----------
        table : str
            ``"incidents"`` or ``"changes"``.
        time_column : str
            The timestamp that places a row in a period; rows where it is missing or outside the
            window are left out.

        Returns
        -------
        Grouped
            The stacked rows.
        """
        key = (table, time_column)
        if key not in self._grouped:
            frame = getattr(self.log, table)
            period = assign_periods(frame[time_column], self.bounds)
            if table in self.where:
                period = np.where(self.where[table], period, -1)
            if table not in self._keys:  # shared by every time column of the table
                self._keys[table] = entity_codes(frame)
            keys = self._keys[table]
            self._grouped[key] = Grouped(frame, period, self.labels, self.levels, keys)
        return self._grouped[key]
