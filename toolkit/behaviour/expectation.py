"""What a team expects a candidate move to pay, knowing its scores are noisy.

One period's counterfactual shows how a move shifts each rewarded KPI (the basis the plan's
curve reads). A single noisy period would make most small moves look worthless (the curve is
flat beyond its threshold and maximum), which is not how people weigh their chances. So the
team applies the shift to its typical level and averages the plan's own curve over the noise
it has seen in its past scores (Gauss–Hermite quadrature). Counter-metrics and gates act as the
plan applies them to the candidate's counterfactual.

Under a ``rolling`` or ``ratchet`` baseline the result also moves the team's later targets, and
teams weigh that too (the ratchet effect: Weitzman 1980, "The 'ratchet principle' and
performance incentives", *Bell Journal of Economics* 11(1), 302–308): see
:class:`MovingTarget`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.config.plan import BracketCurve, LinearCurve, Metric, Plan
from toolkit.events.schema import positions
from toolkit.metrics import CATALOGUE
from toolkit.plans.curves import curve_payout

COUNT_UNITS = ("incidents", "changes")


def _base_name(kpi: str) -> str:
    """Return the catalogue name of a KPI or of its per-priority variant."""
    return next(name for name, entry in CATALOGUE.items() if kpi in (name, *entry.variants))


NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(9)
WEIGHTS = WEIGHTS / WEIGHTS.sum()
MIN_SPREAD = 0.05  # noise assumed before a team has seen enough periods (basis units)


@dataclass(frozen=True)
class MovingTarget:
    """How a metric's coming result moves its later targets, and what that costs in score.

    An ``improvement`` basis reads the baseline; a ``rolling`` or ``ratchet`` baseline is a mean
    over the last ``w`` periods, so a shift Δ in the coming result moves each of the next ``w``
    rolling means by Δ / w. A rolling baseline is that mean for those ``w`` periods; a ratchet
    keeps it for good, but only when it beats the best so far, which is the baseline the
    current basis is measured against. Everything is in basis units (fractions of the current
    target): with the team's typical basis ``c``, noise ``σ`` and the coming period's noise
    draw ``z`` (the same draw that prices the coming period), the next rolling mean sits at
    ``r = c + (Δ + σz) / w`` over the current target, the other ``w − 1`` periods of its window
    taken at the typical level. For the next ``w`` periods the target rises by ``ρ = r``
    (rolling) or ``ρ = max(0, r)`` (ratchet); after them a rolling target has forgotten the
    result, while a ratchet keeps ``ρ = max(0, r, c)``, the later windows of typical results
    pushing it up to ``c`` anyway. A later typical result ``c + σz'`` then scores the basis
    ``b' = (c + σz' − ρ) / (1 + sρ)`` (``s`` = +1 for higher-is-better KPIs, −1 otherwise), the
    improvement over the raised target. The cost of the move is the expected payout at the
    stay-put target (``Δ = 0``) less that at the moved one, over both draws, times the worth of
    the periods it applies to. Only the worth of all later periods is known (``R``, in units of
    the coming period's), so the next ``w`` are taken to weigh ``min(R, w)``, as they do when
    every period is worth the same, and the rest ``R − min(R, w)``. An improvement that makes
    the best rolling mean raises a ratchet for good; a worse result lowers a rolling target,
    but a ratchet's only down to the best so far, and only until typical results catch up.

    Attributes
    ----------
    curve : LinearCurve or BracketCurve
        The metric's curve.
    window : int
        The baseline's ``window_periods``.
    kept : bool
        Whether the raise is kept for good (ratchet) or for ``window`` periods (rolling).
    sign : float
        +1 for a higher-is-better KPI, −1 for a lower-is-better one.
    """

    curve: LinearCurve | BracketCurve
    window: int
    kept: bool
    sign: float

    @classmethod
    def of(cls, metric: Metric) -> MovingTarget | None:
        """Return the metric's moving target, or None when later targets do not move with it.

        A ``level`` basis never reads the baseline, and a ``fixed`` baseline rests on the
        pre-plan periods alone.
        """
        if metric.basis == "level" or metric.baseline.policy == "fixed":
            return None
        better = CATALOGUE[_base_name(metric.kpi)].direction
        return cls(
            curve=metric.curve,
            window=metric.baseline.window_periods,
            kept=metric.baseline.policy == "ratchet",
            sign=1.0 if better == "higher" else -1.0,
        )

    def future_cost(
        self, centre: np.ndarray, spread: np.ndarray, shift: np.ndarray, ratio: np.ndarray
    ) -> np.ndarray:
        """Return each row's expected loss of later payout (% of target, coming-period units).

        Parameters
        ----------
        centre, spread : ndarray
            The team's typical basis and its noise, per row.
        shift : ndarray
            The move's shift of the basis in the coming period, per row.
        ratio : ndarray
            The discounted worth of all later periods in units of the coming period's, per row.

        Returns
        -------
        ndarray
            The loss per row: 0 for a move that shifts nothing, negative for a move whose worse
            result eases later targets; 0 where the basis is not finite.
        """
        finite = np.isfinite(centre) & np.isfinite(shift)
        centre = np.where(finite, centre, 0.0)[:, None, None]
        spread = np.where(finite, spread, 0.0)[:, None, None]
        step = np.where(finite, shift, 0.0)[:, None, None] / self.window
        drawn = centre + spread * NODES[None, :, None] / self.window  # next rolling mean, stay put
        later = centre + spread * NODES[None, None, :]  # a later period's typical basis
        near = np.minimum(ratio, self.window)[:, None]
        lost = near * (self._payout(later, drawn) - self._payout(later, drawn + step))
        far = (ratio - near[:, 0])[:, None]
        if self.kept and far.any():
            caught_up = np.maximum(drawn, centre), np.maximum(drawn + step, centre)
            lost += far * (self._payout(later, caught_up[0]) - self._payout(later, caught_up[1]))
        return lost @ WEIGHTS

    def _payout(self, later: np.ndarray, rolling: np.ndarray) -> np.ndarray:
        """Return the expected later payout per row and coming-period draw, given the target."""
        rise = np.maximum(rolling, 0.0) if self.kept else rolling
        room = 1.0 + self.sign * rise  # the raised target over the current one
        with np.errstate(invalid="ignore", divide="ignore"):
            # a target at or below zero: any result is infinitely better or worse than it
            basis = np.where(room > 0, (later - rise) / room, self.sign * np.inf)
        return np.nan_to_num(curve_payout(self.curve, basis)) @ WEIGHTS


class ScoreExpectation:
    """Keep each team's history of curve inputs and price candidates against it.

    Parameters
    ----------
    plan : Plan
        Its metrics' curves are the ones that pay.
    """

    def __init__(self, plan: Plan):
        self.curves = [metric.curve for metric in plan.metrics]
        # a count read as a level is at least as noisy as a Poisson count
        self.counts = [
            metric.basis == "level" and CATALOGUE[_base_name(metric.kpi)].unit in COUNT_UNITS
            for metric in plan.metrics
        ]
        self.weights = np.array([metric.weight for metric in plan.metrics], dtype=float)
        self.targets = [MovingTarget.of(metric) for metric in plan.metrics]
        self.history: dict[tuple[str, int], list[float]] = defaultdict(list)

    def record(self, metrics: pd.DataFrame) -> None:
        """Remember one committed period's curve inputs (``team_id, index, basis_value``)."""
        for team_id, index, basis in metrics[["team_id", "index", "basis_value"]].itertuples(
            index=False
        ):
            if np.isfinite(basis):
                self.history[(team_id, int(index))].append(float(basis))

    def _centre_and_spread(
        self, teams: list[str], index: int, fallback: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's typical level and noise of metric ``index``, from its team's past.

        A team with no past is centred on ``fallback`` (the row's own value); the spread is the
        past's standard deviation once there are three periods, and never below a floor.
        """
        stats = {}
        for team in set(teams):
            seen = self.history.get((team, index), [])
            mean = float(np.mean(seen)) if seen else np.nan
            stats[team] = (mean, float(np.std(seen, ddof=1)) if len(seen) >= 3 else 0.0)
        mean, spread = np.array([stats[team] for team in teams], dtype=float).reshape(-1, 2).T
        centre = np.where(np.isnan(mean), fallback, mean)
        if self.counts[index]:
            floor = np.sqrt(np.maximum(np.abs(centre), 1.0))
        else:
            floor = MIN_SPREAD * np.maximum(1.0, np.abs(centre))
        return centre, np.maximum(spread, floor)

    def expected_scores(
        self,
        teams: pd.DataFrame,
        metrics: pd.DataFrame,
        team_of: dict[str, str],
        stay: dict,
        future_value_ratio: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """Return the expected score (% of target) of every candidate label.

        The score of the coming period, less what the move is expected to cost in later
        periods by moving the targets of metrics with a rolling or ratchet baseline
        (:class:`MovingTarget`), in % of the coming period's target; a gate or counter-metric
        that takes this period's award leaves that cost, since the result is still recorded.

        Parameters
        ----------
        teams, metrics : DataFrame
            The plan's :class:`~toolkit.plans.scoring.TeamScores` tables for the labels.
        team_of : dict
            Label → real team id.
        stay : dict
            Real team id → the label of its stay-put candidate; other labels are skipped.
        future_value_ratio : mapping, optional
            Real team id → the discounted sum, over the periods after the coming one, of their
            award value in units of the coming period's value. A team not in it (or no
            mapping) gives later periods no weight: targets moving later cost it nothing.

        Raises
        ------
        ValueError
            If a ratio is negative or not finite.
        """
        if not self.curves:
            return dict.fromkeys(teams["team_id"], 0.0)
        label_ids = teams["team_id"].to_numpy(dtype=object)
        labels = [label for label in label_ids if team_of.get(label) in stay]
        real = [team_of[label] for label in labels]
        # each label's curve inputs and zeroed flags, a row per label and a column per metric
        cell = positions(label_ids, metrics["team_id"]), metrics["index"].to_numpy(dtype=int)
        found = cell[0] >= 0
        cell = cell[0][found], cell[1][found]
        basis = np.full((len(label_ids), len(self.curves)), np.nan)
        basis[cell] = metrics["basis_value"].to_numpy(dtype=float)[found]
        zeroed = np.zeros(basis.shape, dtype=bool)
        zeroed[cell] = metrics["zeroed"].to_numpy(dtype=bool)[found]
        mine = positions(label_ids, labels)
        own, off = basis[mine], zeroed[mine]
        stays = positions(label_ids, [stay[team] for team in real])
        base = np.where((stays >= 0)[:, None], basis[np.maximum(stays, 0)], np.nan)
        ratio = _ratios(future_value_ratio or {}, real)
        total, cost = np.zeros(len(labels)), np.zeros(len(labels))
        for index, (curve, target) in enumerate(zip(self.curves, self.targets, strict=True)):
            seen = np.flatnonzero(np.isfinite(own[:, index]))
            if not len(seen):
                continue
            shift = np.where(np.isfinite(base[:, index]), own[:, index] - base[:, index], 0.0)
            centre, spread = self._centre_and_spread(
                [real[row] for row in seen], index, own[seen, index]
            )
            paid = ~off[seen, index]  # a zeroed metric pays nothing now but is still recorded
            use = seen[paid]
            levels = (centre + shift[seen])[paid, None] + spread[paid, None] * NODES[None, :]
            pays = np.nan_to_num(curve_payout(curve, levels))
            total[use] += self.weights[index] * np.array([float(WEIGHTS @ p) for p in pays])
            if target is not None and ratio[seen].any():
                cost[seen] += self.weights[index] * target.future_cost(
                    centre, spread, shift[seen], ratio[seen]
                )
        gated = teams["gated"].to_numpy(dtype=bool)[mine]
        raw = teams["raw_score_pct"].to_numpy(dtype=float)[mine]
        final = teams["score_pct"].to_numpy(dtype=float)[mine]
        fired = teams["fired"].fillna("").to_numpy(dtype=object)[mine] != ""
        with np.errstate(invalid="ignore", divide="ignore"):
            multiplier = np.where(raw > 0, final / raw, np.where(fired, 0.0, 1.0))
        expected = np.where(gated, 0.0, total / self.weights.sum() * multiplier)
        expected -= cost / self.weights.sum()
        return dict(zip(labels, expected.tolist(), strict=True))


def _ratios(future_value_ratio: Mapping[str, float], real: list[str]) -> np.ndarray:
    """Return each row's future value ratio (0 for a team without one), checked."""
    ratio = np.array([future_value_ratio.get(team, 0.0) for team in real], dtype=float)
    bad = sorted({team for team, r in zip(real, ratio, strict=True) if not 0 <= r < np.inf})
    if bad:
        raise ValueError(f"future value ratios must be finite and >= 0 (teams {bad})")
    return ratio
