"""What every KPI function receives: the log, the periods, and rows stacked at three levels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.events import EventLog
from toolkit.events.periods import assign_periods, period_bounds

ALL = "ALL"
KEYS = ["period", "team_id", "service_id"]
KPI_COLUMNS = [*KEYS, "kpi", "value"]
LEVELS = ("pair", "team", "org")  # (team, service) pairs, teams, the organisation


def tidy(frame: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """Return ``frame`` (``period, team_id, service_id, value``) as tidy rows of ``kpi``."""
    out = frame[KEYS].astype("str")
    out["kpi"] = pd.Series(kpi, index=out.index, dtype="str")
    out["value"] = frame["value"].to_numpy(dtype=float)
    return out.reset_index(drop=True)


class Grouped:
    """The rows of one table assigned to periods and stacked at the three reporting levels.

    Each row appears once for its (team, service) pair, once for its team with service ``ALL``
    and once organisation-wide, so one groupby over the stacked rows computes every level from the
    raw rows: a team's value is never an average of its services' values. Rows without a team or
    service count only at the levels that do not need it.

    Parameters
    ----------
    table : DataFrame
        A table of the log with ``team_id`` and ``service_id`` columns.
    period : ndarray of int
        Each row's period position (-1 for rows outside every period, which are dropped).
    labels : ndarray of str
        The period labels, by position.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        period: np.ndarray,
        labels: np.ndarray,
        levels: tuple[str, ...] = LEVELS,
    ) -> None:
        rows = table.assign(period=period).loc[period >= 0]
        team_known = rows["team_id"].notna()
        pair_known = team_known & rows["service_id"].notna()
        parts = {
            "pair": lambda: rows.loc[pair_known],
            "team": lambda: rows.loc[team_known].assign(service_id=ALL),
            "org": lambda: rows.assign(team_id=ALL, service_id=ALL),
        }
        stacked = pd.concat([parts[level]() for level in levels], ignore_index=True)
        groups = stacked.groupby(KEYS, sort=False)
        self.rows = stacked
        self.codes = groups.ngroup().to_numpy()
        self.keys = stacked[KEYS].drop_duplicates().reset_index(drop=True)
        self.keys["period"] = labels[self.keys["period"].to_numpy()]
        self.labels = labels

    def aggregate(
        self, kpi: str, values: pd.Series, how: str, where: pd.Series | None = None
    ) -> pd.DataFrame:
        """Aggregate ``values`` per group, skipping missing values; groups with none give no row.

        Parameters
        ----------
        kpi : str
            The name written in the ``kpi`` column.
        values : Series
            One value per stacked row (aligned with :attr:`rows`).
        how : str
            A pandas groupby reduction, e.g. ``"mean"`` or ``"median"``.
        where : Series of bool, optional
            Restricts the rows aggregated.

        Returns
        -------
        DataFrame
            Tidy rows ``period, team_id, service_id, kpi, value``.
        """
        codes = self.codes
        if where is not None:
            mask = where.to_numpy(dtype=bool)
            values, codes = values[mask], codes[mask]
        result = values.astype(float).groupby(codes).agg(how).dropna()
        frame = self.keys.take(result.index.to_numpy()).assign(value=result.to_numpy())
        return tidy(frame, kpi)

    def count(self, kpi: str, where: pd.Series | None = None) -> pd.DataFrame:
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
        DataFrame
            Tidy rows ``period, team_id, service_id, kpi, value``.
        """
        codes = self.codes if where is None else self.codes[where.to_numpy(dtype=bool)]
        counted = self.keys.assign(value=np.bincount(codes, minlength=len(self.keys)))
        pairs = self.keys[["team_id", "service_id"]].drop_duplicates()
        grid = pairs.merge(pd.DataFrame({"period": self.labels}), how="cross")
        frame = grid.merge(counted, on=KEYS, how="left").fillna({"value": 0})
        return tidy(frame, kpi)


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
    levels : tuple of str
        The reporting levels to compute, from :data:`LEVELS`.
    wanted : set of str, optional
        The KPI names asked for (with variants); ``None`` asks for all.
    """

    def __init__(
        self,
        log: EventLog,
        period: str,
        sla_tolerance: float,
        levels: tuple[str, ...] = LEVELS,
        wanted: set[str] | None = None,
    ) -> None:
        self.log = log
        self.wanted = wanted
        self.sla_tolerance = sla_tolerance
        self.levels = levels
        self.bounds = period_bounds(log.start, log.end, period)
        self.labels = self.bounds["label"].to_numpy(dtype=object)
        self._grouped: dict[tuple[str, str], Grouped] = {}

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
            self._grouped[key] = Grouped(frame, period, self.labels, self.levels)
        return self._grouped[key]
