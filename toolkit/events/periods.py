"""Period labels and bounds inside a window, shared by the world, the metrics and the plans.

Every KPI cuts time the same way: half-open calendar periods ``[start, end)`` clipped to the
window, so a partial first or last period counts only its hours inside the window and a row whose
timestamp falls outside the window belongs to no period.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

PERIODS: dict[str, str | None] = {"month": "M", "quarter": "Q", "year": "Y", "all": None}

NS = "datetime64[ns]"


@functools.lru_cache(maxsize=256)
def _bounds(start: pd.Timestamp, end: pd.Timestamp, period: str) -> pd.DataFrame:
    """Compute :func:`period_bounds` once per window and period (callers get a copy)."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; choose one of {list(PERIODS)}")
    freq = PERIODS[period]
    if end <= start:
        labels, starts, ends = [], [], []
    elif freq is None:
        labels, starts, ends = ["all"], [start], [end]
    else:
        spans = pd.period_range(start, end - pd.Timedelta(1, "ns"), freq=freq)
        labels = [str(span) for span in spans]
        starts = pd.Series(spans.start_time.as_unit("ns")).clip(lower=start)
        ends = pd.Series((spans + 1).start_time.as_unit("ns")).clip(upper=end)
    bounds = pd.DataFrame(
        {
            "label": pd.Series(labels, dtype="str"),
            "start": pd.Series(np.asarray(starts, dtype=NS)),
            "end": pd.Series(np.asarray(ends, dtype=NS)),
        }
    )
    bounds["hours"] = (bounds["end"] - bounds["start"]) / pd.Timedelta(1, "h")
    return bounds


def period_bounds(start: pd.Timestamp, end: pd.Timestamp, period: str) -> pd.DataFrame:
    """Cut the window ``[start, end)`` into calendar periods.

    Parameters
    ----------
    start, end : Timestamp
        The observation window.
    period : str
        ``"month"``, ``"quarter"``, ``"year"`` or ``"all"`` (the whole window as one period).

    Returns
    -------
    DataFrame
        One row per period in time order: ``label`` (``"2025-03"``, ``"2025Q1"``, ``"2025"`` or
        ``"all"``), ``start`` and ``end`` clipped to the window, and ``hours`` between them.
        Empty when the window is empty.

    Raises
    ------
    ValueError
        If ``period`` is not one of :data:`PERIODS`.
    """
    return _bounds(pd.Timestamp(start), pd.Timestamp(end), period).copy()


def assign_periods(times: pd.Series, bounds: pd.DataFrame) -> np.ndarray:
    """Return the position in ``bounds`` of the period holding each time, or -1 if none does.

    Parameters
    ----------
    times : Series
        Timestamps; missing ones belong to no period.
    bounds : DataFrame
        Periods from :func:`period_bounds`.

    Returns
    -------
    ndarray of int
        Period positions aligned with ``times``.
    """
    values = times.to_numpy(dtype=NS)
    if bounds.empty:
        return np.full(len(values), -1)
    starts = bounds["start"].to_numpy(dtype=NS)
    window_end = bounds["end"].to_numpy(dtype=NS)[-1]
    inside = ~np.isnat(values) & (values >= starts[0]) & (values < window_end)
    position = np.searchsorted(starts, values, side="right") - 1
    return np.where(inside, position, -1)
