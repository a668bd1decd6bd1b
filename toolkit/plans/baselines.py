"""Committed history and the baselines drawn from it (fixed, rolling, ratchet)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.config.plan import Baseline


def nanmean(values: np.ndarray) -> np.ndarray:
    """Average each row over its present values; missing where a row has none."""
    present = ~np.isnan(values)
    count = present.sum(axis=1)
    total = np.where(present, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def baseline_values(values: np.ndarray, baseline: Baseline, start: int, better: str) -> np.ndarray:
    """Compute each key's baseline for the period after the last column of ``values``.

    Parameters
    ----------
    values : ndarray
        Committed values, one row per key and one column per period ``0 .. k-1`` (missing where
        nothing was measured).
    baseline : Baseline
        ``fixed``: the mean of the pre-plan periods ``0 .. start-1``; ``rolling``: the mean of
        the last ``window_periods`` periods; ``ratchet``: the best, in the ``better`` direction,
        of the fixed baseline and every rolling mean that applied from period ``start`` to ``k``.
    start : int
        The plan's ``start_after_periods``.
    better : str
        ``"lower"`` or ``"higher"``: the KPI's better direction.

    Returns
    -------
    ndarray
        One baseline per key; missing where no committed value is available.
    """
    k = values.shape[1]
    fixed = nanmean(values[:, :start])
    if baseline.policy == "fixed":
        return fixed
    w = baseline.window_periods
    if baseline.policy == "rolling":
        return nanmean(values[:, max(0, k - w) : k])
    windows = np.column_stack(
        [fixed, *(nanmean(values[:, max(0, j - w) : j]) for j in range(start, k + 1))]
    )
    pick = np.fmin if better == "lower" else np.fmax
    return pick.reduce(windows, axis=1)


def volume_weights(volumes: np.ndarray, baseline: Baseline, start: int) -> np.ndarray:
    """Return each key's mean volume over the periods its baseline mainly rests on.

    The pre-plan periods for a fixed baseline, the last ``window_periods`` periods for rolling
    and ratchet baselines; 0 where no volume was committed.
    """
    k = volumes.shape[1]
    span = (
        volumes[:, :start]
        if baseline.policy == "fixed"
        else volumes[:, max(0, k - baseline.window_periods) : k]
    )
    return np.nan_to_num(nanmean(span))


class History:
    """Values committed period by period, at team, pair (team and service) and service level.

    ``key`` is a team id, a team id and a service id joined by the ``SEP`` character, or a
    service id, according to ``level``. Values are kept as arrays per level, item and index,
    the way baselines read them.
    """

    def __init__(self) -> None:
        # per (level, item, index): key -> row, each row's key and first period, and the
        # committed cells as (period, rows, {"value": ..., "volume": ...})
        self._rows: dict[tuple[str, str, int], dict[str, int]] = {}
        self._first: dict[tuple[str, str, int], list[int]] = {}
        self._cells: dict[tuple[str, str, int], list[tuple[int, np.ndarray, dict]]] = {}

    def add(
        self,
        period: int,
        level: str,
        item: str,
        index: int,
        keys: np.ndarray,
        values: np.ndarray,
        volumes: np.ndarray | None = None,
    ) -> None:
        """Append one period's values (and volumes) of one level, item and index, by key.

        Periods are added in order, each once per level, item and index.
        """
        if not len(keys):
            return
        track = (level, item, int(index))
        rows_of = self._rows.setdefault(track, {})
        first = self._first.setdefault(track, [])
        rows = np.empty(len(keys), dtype=np.int64)
        for i, key in enumerate(keys):
            if key not in rows_of:
                rows_of[key] = len(first)
                first.append(period)
            rows[i] = rows_of[key]
        columns = {
            "value": np.asarray(values, dtype=float),
            "volume": np.full(len(keys), np.nan) if volumes is None else np.asarray(volumes, float),
        }
        self._cells.setdefault(track, []).append((period, rows, columns))

    def matrix(self, level: str, item: str, index: int, periods: int, column: str = "value"):
        """Return ``column`` as a keys × periods frame over periods ``0 .. periods-1``.

        Keys are those committed in those periods, sorted.
        """
        track = (level, item, index)
        keys = np.array(list(self._rows.get(track, {})), dtype=object)
        table = np.full((len(keys), periods), np.nan)
        for period, rows, columns in self._cells.get(track, []):
            if period < periods:
                table[rows, period] = columns[column]
        seen = np.flatnonzero(np.array(self._first.get(track, []), dtype=np.int64) < periods)
        order = seen[np.argsort(keys[seen], kind="stable")]
        return pd.DataFrame(
            table[order],
            index=pd.Index(keys[order], dtype=object, name="key"),
            columns=pd.RangeIndex(periods, name="period"),
        )
