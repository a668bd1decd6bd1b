"""What a team expects its last period would have looked like under other levers.

Teams value a candidate move by scoring a counterfactual log with the plan's own code. The
counterfactual starts from the team's true log of the period and applies the expected effect
of each world lever (its mental model of the world): reliability work thins its internal
incidents, the change pace thins or repeats changes (with the incidents they caused), care
flips failures and stretches lead times, emergency abuse pushes normal changes past CAB,
cherry-picking moves waiting time from short tickets to long ones. Reporting levers are then
applied by :func:`toolkit.behaviour.reporting.report`, exactly as for the real record.

Every random decision is keyed by the row id (common random numbers), so candidates differ
only where their levers differ. All candidates of all teams are built in one vectorised pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.behaviour.levers import LeverSet
from toolkit.config.scenario import Scenario
from toolkit.events.schema import STR
from toolkit.sim.levers import care_factors, change_pace
from toolkit.sim.streams import hash_ids, uniforms

NS = "datetime64[ns]"
HOUR = np.timedelta64(1, "h")
CHERRY_WAIT_SHIFT = 0.6  # share of a short ticket's wait that full cherry-picking removes


def _expand(frame: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    """Repeat each team's rows once per candidate label of that team."""
    return frame.merge(moves, on="team_id", how="inner", sort=False)


def _resample(frame: pd.DataFrame, ratio: np.ndarray, draw: np.ndarray, id_column: str):
    """Keep rows with probability ``ratio`` (< 1) or add copies with probability ``ratio - 1``."""
    keep = np.where(ratio < 1, draw < ratio, True)
    extra = (ratio > 1) & (draw < ratio - 1)
    copies = frame.loc[extra].copy()
    copies[id_column] = copies[id_column] + "~x"
    return frame.loc[keep], copies


class Counterfactuals:
    """Build counterfactual period logs for many (team, candidate) pairs at once.

    Parameters
    ----------
    scenario : Scenario
        Gives the lever effects and change dynamics the teams expect.
    seed : int
        Keys the draws.
    """

    def __init__(self, scenario: Scenario, seed: int):
        self.effects = scenario.environment.behaviour.levers
        self.changes_cfg = scenario.environment.changes
        self.seed = seed

    def moves_table(self, pairs: list[tuple[str, str, LeverSet, LeverSet]]) -> pd.DataFrame:
        """Tabulate (label, team, current levers, candidate levers) as one row per label."""
        rows = []
        for label, team, current, candidate in pairs:
            row = {"label": label, "team_id": team}
            row.update({f"cur_{k}": v for k, v in current.values.items()})
            row.update({f"new_{k}": v for k, v in candidate.values.items()})
            rows.append(row)
        return pd.DataFrame(rows).astype({"label": STR, "team_id": STR})

    def build(
        self,
        incidents: pd.DataFrame,
        changes: pd.DataFrame,
        moves: pd.DataFrame,
        period_end: pd.Timestamp,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return counterfactual incidents and changes, with ``team_id`` set to each label.

        Parameters
        ----------
        incidents, changes : DataFrame
            The true rows of the period, for every team that has candidates.
        moves : DataFrame
            From :meth:`moves_table`.
        period_end : Timestamp
            Changes pushed past it are not implemented within the period.
        """
        eff = self.effects
        inc = _expand(incidents, moves)
        chg = _expand(changes, moves)
        seed = self.seed
        end = np.datetime64(period_end, "ns")

        # change pace: reliability work and care take time from delivery; the lever scales it
        def pace_of(prefix):
            return change_pace(
                eff,
                chg[f"{prefix}change_rate"].to_numpy(),
                chg[f"{prefix}reliability_effort"].to_numpy(),
                chg[f"{prefix}change_care"].to_numpy(),
            )

        pace = pace_of("new_") / pace_of("cur_")
        kept, extra = _resample(
            chg, pace, uniforms(hash_ids(chg["change_id"]), seed, "cf/pace"), "change_id"
        )
        chg = pd.concat([kept, extra], ignore_index=True)

        chg = self._care_and_abuse(chg, end)

        # change-caused incidents follow their change (dropped, repeated, or added when flipped)
        caused = inc["root_cause"] == "change"
        key = inc["label"] + "|" + inc["change_id"].fillna("")
        alive = set(chg["label"] + "|" + chg["change_id"])
        failed = set(chg.loc[chg["failed"], "label"] + "|" + chg.loc[chg["failed"], "change_id"])
        survives = ~caused | (key.isin(alive) & key.isin(failed))
        repeated = caused & (key + "~x").isin(failed)
        again = inc.loc[repeated].copy()
        again["incident_id"] = again["incident_id"] + "~x"
        again["change_id"] = again["change_id"] + "~x"
        inc = pd.concat([inc.loc[survives], again], ignore_index=True)

        # reliability work: internal incident rates move after the lag, as the world does
        pull = 1.0 / (1.0 + eff.reliability_lag_periods)
        shift = inc["new_reliability_effort"] - inc["cur_reliability_effort"]
        ratio = np.exp(-eff.reliability_effect * pull * shift.to_numpy())
        ratio = np.where(inc["root_cause"].to_numpy() == "internal", ratio, 1.0)
        kept, extra = _resample(
            inc,
            ratio,
            uniforms(hash_ids(inc["incident_id"]), seed, "cf/reliability"),
            "incident_id",
        )
        inc = pd.concat([kept, extra], ignore_index=True)

        inc = self._cherry_picking(inc)
        inc["team_id"] = inc.pop("label")
        chg["team_id"] = chg.pop("label")
        lever_columns = [c for c in inc.columns if c.startswith(("cur_", "new_"))]
        return inc.drop(columns=lever_columns), chg.drop(columns=lever_columns)

    def _care_and_abuse(self, chg: pd.DataFrame, end: np.datetime64) -> pd.DataFrame:
        eff, cfg, seed = self.effects, self.changes_cfg, self.seed
        chg = chg.copy()
        hashed = hash_ids(chg["change_id"])
        p = cfg.failure_probability.model_dump()

        # emergency abuse: more of it pushes pending or slow normal changes through at once
        rise = (chg["new_emergency_abuse"] - chg["cur_emergency_abuse"]).to_numpy()
        u = uniforms(hashed, seed, "cf/abuse")
        is_normal = (chg["type"] == "normal").to_numpy()
        share_up = np.clip(rise / np.maximum(1 - chg["cur_emergency_abuse"].to_numpy(), 1e-9), 0, 1)
        pushed = is_normal & (rise > 0) & (u < share_up)
        is_emergency = (chg["type"] == "emergency").to_numpy()
        unjustified = chg["justification"].isna().to_numpy()
        share_down = np.clip(-rise / np.maximum(chg["cur_emergency_abuse"].to_numpy(), 1e-9), 0, 1)
        pulled = is_emergency & unjustified & (rise < 0) & (u < share_down)
        submitted = chg["submitted_at"].to_numpy(dtype=NS)
        implemented = chg["implemented_at"].to_numpy(dtype=NS)
        fast = submitted + np.timedelta64(int(cfg.emergency_lead_time_hours * 3600), "s")
        slow = submitted + np.timedelta64(int(cfg.cab_lead_time_days * 86400), "s")
        implemented = np.where(pushed, fast, implemented)
        implemented = np.where(pulled, np.maximum(slow, implemented), implemented)
        chg.loc[pushed, "type"] = "emergency"
        chg.loc[pulled, "type"] = "normal"
        chg.loc[pushed, "cab_reviewed"] = False
        chg.loc[pulled, "cab_reviewed"] = True
        u_fail = uniforms(hashed, seed, "cf/abuse-failure")
        extra_risk = (p["emergency"] - p["normal"]) / (1 - p["normal"])
        failed = chg["failed"].to_numpy() | (pushed & (u_fail < extra_risk))

        # care: failures and lead times scale with care as the world makes them
        new_fail, new_lead, _ = care_factors(eff, chg["new_change_care"].to_numpy())
        cur_fail, cur_lead, _ = care_factors(eff, chg["cur_change_care"].to_numpy())
        ratio = new_fail / cur_fail
        u_care = uniforms(hashed, seed, "cf/care")
        base_p = chg["type"].map(p).to_numpy(dtype=float)
        flip_to_fail = (ratio > 1) & (u_care < (ratio - 1) * base_p / np.maximum(1 - base_p, 1e-9))
        failed = np.where(ratio < 1, failed & (u_care < ratio), failed | flip_to_fail)
        stretch = new_lead / cur_lead
        lead_hours = (implemented - submitted) / HOUR
        implemented = submitted + (lead_hours * stretch * 3600).astype("timedelta64[s]")
        implemented = np.where(implemented < end, implemented, np.datetime64("NaT"))
        chg["implemented_at"] = pd.Series(implemented, index=chg.index).astype(NS)
        chg["failed"] = failed & ~np.isnat(implemented)
        return chg

    def _cherry_picking(self, inc: pd.DataFrame) -> pd.DataFrame:
        rise = (inc["new_cherry_picking"] - inc["cur_cherry_picking"]).to_numpy()
        if not rise.any():
            return inc
        opened = inc["opened_at"].to_numpy(dtype=NS)
        responded = inc["responded_at"].to_numpy(dtype=NS)
        resolved = inc["resolved_at"].to_numpy(dtype=NS)
        work = (resolved - responded) / HOUR
        typical = pd.Series(work).groupby(inc["priority"].to_numpy()).transform("median").to_numpy()
        short = work < typical
        wait = (responded - opened) / HOUR
        factor = np.where(short, -CHERRY_WAIT_SHIFT, CHERRY_WAIT_SHIFT / 2) * rise
        shift = np.nan_to_num(wait * factor)
        delta = (shift * 3600).astype("timedelta64[s]")
        inc = inc.copy()
        inc["responded_at"] = pd.Series(responded + delta, index=inc.index).astype(NS)
        inc["resolved_at"] = pd.Series(resolved + delta, index=inc.index).astype(NS)
        closed = inc["closed_at"].to_numpy(dtype=NS)
        inc["closed_at"] = pd.Series(closed + delta, index=inc.index).astype(NS)
        return inc
