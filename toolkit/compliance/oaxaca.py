"""How much of a gender pay gap objective criteria explain: a pooled Oaxaca–Blinder decomposition.

The gap in mean pay between men and women, ``ȳ_m − ȳ_w``, splits into a part explained by the
two groups' different criteria (grade, tenure, country, ...) valued at common returns, and an
unexplained part. The common returns are those of one regression on both groups with a women
indicator (the *pooled* two-fold decomposition, Jann 2008, ``two_fold_type="pooled"`` of
:class:`statsmodels.stats.oaxaca.OaxacaBlinder`): with a constant in the model the unexplained
part is exactly minus the coefficient on the indicator, and the explained part is the rest.
Intervals come from resampling women and men separately (each keeping its headcount), seeded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit.compliance.pay_conventions import MEN, WOMEN
from toolkit.compliance.pay_people import PayGapInputError


def design_matrix(table: pd.DataFrame, criteria: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Return the criteria as regressors (and a constant, last) with their names.

    A criterion whose every value reads as a number enters as it is; any other is a set of
    indicators, one per value but the first in sorted order. Columns that do not vary are
    left out: they cannot explain a difference.

    Parameters
    ----------
    table : DataFrame
        The workers, with a column per criterion.
    criteria : sequence of str
        The criteria's column names.

    Returns
    -------
    tuple of (ndarray, list of str)
        The ``n × k`` matrix, constant last, and a name per column.

    Raises
    ------
    PayGapInputError
        If a criterion has an empty value.
    """
    columns, names = [], []
    for name in criteria:
        raw = table[name]
        text = raw.astype(str).str.strip()
        if raw.isna().any() or (text == "").any():
            rows = ", ".join(map(str, table.index[raw.isna() | (text == "")][:5]))
            raise PayGapInputError(f"criterion {name!r}: empty value in row(s) {rows}")
        numbers = pd.to_numeric(raw, errors="coerce")
        if numbers.notna().all() and np.isfinite(numbers.astype(float)).all():
            values = numbers.astype(float).to_numpy()
            if np.ptp(values) > 0:
                columns.append(values)
                names.append(name)
            continue
        for level in sorted(text.unique())[1:]:
            columns.append((text == level).to_numpy(dtype=float))
            names.append(f"{name}={level}")
    columns.append(np.ones(len(table)))
    names.append("constant")
    return np.column_stack(columns), names


def unexplained_gap(pay: np.ndarray, design: np.ndarray, woman: np.ndarray) -> float | None:
    """Return the unexplained part of ``mean(pay | man) − mean(pay | woman)``, or None.

    Parameters
    ----------
    pay : ndarray
        Pay of each worker (women and men only).
    design : ndarray
        Regressors with a constant (:func:`design_matrix`).
    woman : ndarray of bool
        True for a woman.

    Returns
    -------
    float or None
        Minus the coefficient on the women indicator in the pooled regression; None when the
        indicator is collinear with the criteria (the split would be arbitrary) or the model
        leaves no degree of freedom.
    """
    full = np.column_stack([design, woman.astype(float)])
    if len(pay) <= full.shape[1] or np.linalg.matrix_rank(full) < full.shape[1]:
        return None
    coefficients, *_ = np.linalg.lstsq(full, pay, rcond=None)
    return float(-coefficients[-1])


def decompose(
    table: pd.DataFrame,
    pay_column: str,
    criteria: Sequence[str],
    replicates: int,
    seed: Sequence[int],
    confidence: float,
) -> dict:
    """Decompose the men–women gap in ``pay_column`` into explained and unexplained parts.

    Parameters
    ----------
    table : DataFrame
        Workers with ``gender``, the pay column and the criteria; people of other genders are
        left out (the decomposition compares women and men).
    pay_column : str
        The pay compared.
    criteria : sequence of str
        Objective, gender-neutral criteria; none leaves the whole gap unexplained.
    replicates : int
        Bootstrap resamples (0: no interval).
    seed : sequence of int
        Seed of the resampling (e.g. the conventions' seed and the category's position).
    confidence : float
        Interval coverage.

    Returns
    -------
    dict
        ``status`` (``"estimated"`` or ``"not_estimable"`` with ``reason``), ``gap``,
        ``explained``, ``unexplained`` (money), ``unexplained_percent`` (of men's mean),
        its ``interval_percent`` (percentile bootstrap, or None), ``replicates_used``,
        ``regressors``.
    """
    pairs = table[table["gender"].isin((WOMEN, MEN))].reset_index(drop=True)
    pay = pairs[pay_column].to_numpy(dtype=float)
    woman = (pairs["gender"] == WOMEN).to_numpy()
    design, names = design_matrix(pairs, criteria)
    men_mean, women_mean = pay[~woman].mean(), pay[woman].mean()
    result = {"regressors": names[:-1], "gap": float(men_mean - women_mean)}
    unexplained = unexplained_gap(pay, design, woman)
    if unexplained is None or men_mean <= 0:
        reason = (
            "men's mean pay is 0"
            if men_mean <= 0
            else "too few women and men for the criteria, or a criterion separates them"
        )
        return {**result, "status": "not_estimable", "reason": reason}
    interval, used = None, 0
    if replicates:
        rng = np.random.default_rng(list(seed))
        women_rows, men_rows = np.flatnonzero(woman), np.flatnonzero(~woman)
        shares = []
        for _ in range(replicates):
            rows = np.concatenate(
                [
                    rng.choice(men_rows, size=len(men_rows)),
                    rng.choice(women_rows, size=len(women_rows)),
                ]
            )
            part = unexplained_gap(pay[rows], design[rows], woman[rows])
            base = pay[rows][~woman[rows]].mean()
            if part is not None and base > 0:
                shares.append(100 * part / base)
        used = len(shares)
        if shares:
            tail = (1 - confidence) / 2
            low, high = np.quantile(shares, [tail, 1 - tail])
            interval = [float(low), float(high)]
    return {
        **result,
        "status": "estimated",
        "explained": float(men_mean - women_mean - unexplained),
        "unexplained": unexplained,
        "unexplained_percent": float(100 * unexplained / men_mean),
        "interval_percent": interval,
        "replicates_used": used,
    }
