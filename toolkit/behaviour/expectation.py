"""What a team expects a candidate move to pay, knowing its scores are noisy.

One period's counterfactual shows how a move shifts each rewarded KPI (the basis the plan's
curve reads). A single noisy period would make most small moves look worthless (the curve is
flat beyond its threshold and maximum), which is not how people weigh their chances. So the
team applies the shift to its typical level and averages the plan's own curve over the noise
it has seen in its past scores (Gauss–Hermite quadrature). Counter-metrics and gates act as the
plan applies them to the candidate's counterfactual.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
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
        self, teams: pd.DataFrame, metrics: pd.DataFrame, team_of: dict[str, str], stay: dict
    ) -> dict[str, float]:
        """Return the expected score (% of target) of every candidate label.

        Parameters
        ----------
        teams, metrics : DataFrame
            The plan's :class:`~toolkit.plans.scoring.TeamScores` tables for the labels.
        team_of : dict
            Label → real team id.
        stay : dict
            Real team id → the label of its stay-put candidate; other labels are skipped.
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
        total = np.zeros(len(labels))
        for index, curve in enumerate(self.curves):
            use = np.flatnonzero(np.isfinite(own[:, index]) & ~off[:, index])
            if not len(use):
                continue
            shift = np.where(np.isfinite(base[:, index]), own[:, index] - base[:, index], 0.0)
            centre, spread = self._centre_and_spread(
                [real[row] for row in use], index, own[use, index]
            )
            levels = (centre + shift[use])[:, None] + spread[:, None] * NODES[None, :]
            pays = np.nan_to_num(curve_payout(curve, levels))
            total[use] += self.weights[index] * np.array([float(WEIGHTS @ p) for p in pays])
        gated = teams["gated"].to_numpy(dtype=bool)[mine]
        raw = teams["raw_score_pct"].to_numpy(dtype=float)[mine]
        final = teams["score_pct"].to_numpy(dtype=float)[mine]
        fired = teams["fired"].fillna("").to_numpy(dtype=object)[mine] != ""
        with np.errstate(invalid="ignore", divide="ignore"):
            multiplier = np.where(raw > 0, final / raw, np.where(fired, 0.0, 1.0))
        expected = np.where(gated, 0.0, total / self.weights.sum() * multiplier)
        return dict(zip(labels, expected.tolist(), strict=True))
