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

from toolkit.behaviour.levers import ALL_LEVERS, LeverSet
from toolkit.config.scenario import Scenario
from toolkit.events.schema import positions, text
from toolkit.sim.levers import care_factors, change_pace
from toolkit.sim.streams import hash_ids, uniforms

NS = "datetime64[ns]"
HOUR = np.timedelta64(1, "h")
CHERRY_WAIT_SHIFT = 0.6  # share of a short ticket's wait that full cherry-picking removes
COPY = "~x"  # suffix of a row a candidate repeats (a change made twice, its incident)
WORK = ["label", "_move", "_hash"]  # working columns, dropped from the result


def _expand(frame: pd.DataFrame, moves: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Repeat each team's rows once per candidate of that team, row by row.

    A copy carries the candidate's ``label``, its position in ``moves`` (``_move``, to look its
    levers up) and the hashed row id (``_hash``, to key draws without hashing each copy again).
    """
    teams = moves["team_id"].to_numpy(dtype=object)
    known = pd.Index(pd.unique(teams))
    code = positions(known, frame["team_id"])
    rows, move = np.nonzero(code[:, None] == positions(known, teams)[None, :])
    hashed = hash_ids(frame[id_column])
    return (
        frame.take(rows)
        .reset_index(drop=True)
        .assign(
            label=text(moves["label"].to_numpy(dtype=object)[move]), _move=move, _hash=hashed[rows]
        )
    )


def _resample(frame: pd.DataFrame, ratio: np.ndarray, draw: np.ndarray, id_column: str):
    """Keep rows with probability ``ratio`` (< 1) or add copies with probability ``ratio - 1``."""
    keep = np.where(ratio < 1, draw < ratio, True)
    extra = (ratio > 1) & (draw < ratio - 1)
    copies = frame.loc[extra]
    ids = copies[id_column] + COPY
    copies = copies.assign(**{id_column: ids, "_hash": hash_ids(ids)})
    return pd.concat([frame.loc[keep], copies], ignore_index=True)


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
        labels, teams, current, candidate = zip(*pairs, strict=True) if pairs else ([],) * 4
        columns = {"label": text(list(labels)), "team_id": text(list(teams))}
        for prefix, levers in (("cur_", current), ("new_", candidate)):
            for name in ALL_LEVERS:
                columns[prefix + name] = np.array([lev[name] for lev in levers], dtype=float)
        return pd.DataFrame(columns)

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
        inc = _expand(incidents, moves, "incident_id")
        chg = _expand(changes, moves, "change_id")
        seed = self.seed
        end = np.datetime64(period_end, "ns")

        def lever(frame: pd.DataFrame, name: str) -> np.ndarray:
            """Each row's value of a lever column of ``moves`` (``cur_...`` or ``new_...``)."""
            return moves[name].to_numpy(dtype=float)[frame["_move"].to_numpy()]

        # change pace: reliability work and care take time from delivery; the lever scales it
        def pace_of(prefix):
            return change_pace(
                eff,
                lever(chg, f"{prefix}change_rate"),
                lever(chg, f"{prefix}reliability_effort"),
                lever(chg, f"{prefix}change_care"),
            )

        pace = pace_of("new_") / pace_of("cur_")
        draw = uniforms(chg["_hash"].to_numpy(), seed, "cf/pace")
        chg = _resample(chg, pace, draw, "change_id")
        chg = self._care_and_abuse(chg, end, lever)

        # change-caused incidents follow their change (dropped, repeated, or added when flipped):
        # keyed by candidate and change, the key of a repeated change's copy one above its own
        ids = pd.Index(pd.unique(changes["change_id"].to_numpy(dtype=object)))
        failed = chg.loc[chg["failed"]]
        failed_ids = failed["change_id"].to_numpy(dtype=object)
        repeat = np.array([str(c).endswith(COPY) for c in failed_ids], dtype=bool)
        base_ids = np.where(repeat, [str(c)[: -len(COPY)] for c in failed_ids], failed_ids)
        failed_keys = (failed["_move"].to_numpy() * len(ids) + positions(ids, base_ids)) * 2
        failed_keys = failed_keys + repeat
        change = positions(ids, inc["change_id"])
        key = np.where(change >= 0, (inc["_move"].to_numpy() * len(ids) + change) * 2, -2)
        caused = (inc["root_cause"] == "change").to_numpy()
        survives = ~caused | np.isin(key, failed_keys)
        repeated = caused & np.isin(key + 1, failed_keys)
        again = inc.loc[repeated]
        again_ids = again["incident_id"] + COPY
        again = again.assign(
            incident_id=again_ids, change_id=again["change_id"] + COPY, _hash=hash_ids(again_ids)
        )
        inc = pd.concat([inc.loc[survives], again], ignore_index=True)

        # reliability work: internal incident rates move after the lag, as the world does
        pull = 1.0 / (1.0 + eff.reliability_lag_periods)
        shift = lever(inc, "new_reliability_effort") - lever(inc, "cur_reliability_effort")
        ratio = np.exp(-eff.reliability_effect * pull * shift)
        ratio = np.where(inc["root_cause"].to_numpy() == "internal", ratio, 1.0)
        draw = uniforms(inc["_hash"].to_numpy(), seed, "cf/reliability")
        inc = _resample(inc, ratio, draw, "incident_id")

        inc = self._cherry_picking(inc, lever)
        inc["team_id"] = inc["label"]
        chg["team_id"] = chg["label"]
        return inc.drop(columns=WORK), chg.drop(columns=WORK)

    def _care_and_abuse(self, chg: pd.DataFrame, end: np.datetime64, lever) -> pd.DataFrame:
        eff, cfg, seed = self.effects, self.changes_cfg, self.seed
        hashed = chg["_hash"].to_numpy()
        p = cfg.failure_probability.model_dump()

        # emergency abuse: more of it pushes pending or slow normal changes through at once
        current_abuse = lever(chg, "cur_emergency_abuse")
        rise = lever(chg, "new_emergency_abuse") - current_abuse
        u = uniforms(hashed, seed, "cf/abuse")
        kind = chg["type"].to_numpy(dtype=object)
        is_normal = kind == "normal"
        share_up = np.clip(rise / np.maximum(1 - current_abuse, 1e-9), 0, 1)
        pushed = is_normal & (rise > 0) & (u < share_up)
        is_emergency = kind == "emergency"
        unjustified = chg["justification"].isna().to_numpy()
        share_down = np.clip(-rise / np.maximum(current_abuse, 1e-9), 0, 1)
        pulled = is_emergency & unjustified & (rise < 0) & (u < share_down)
        submitted = chg["submitted_at"].to_numpy(dtype=NS)
        implemented = chg["implemented_at"].to_numpy(dtype=NS)
        fast = submitted + np.timedelta64(int(cfg.emergency_lead_time_hours * 3600), "s")
        slow = submitted + np.timedelta64(int(cfg.cab_lead_time_days * 86400), "s")
        implemented = np.where(pushed, fast, implemented)
        implemented = np.where(pulled, np.maximum(slow, implemented), implemented)
        kind = np.where(pushed, "emergency", np.where(pulled, "normal", kind))
        reviewed = chg["cab_reviewed"].to_numpy(dtype=bool)
        reviewed = np.where(pushed, False, np.where(pulled, True, reviewed))
        u_fail = uniforms(hashed, seed, "cf/abuse-failure")
        extra_risk = (p["emergency"] - p["normal"]) / (1 - p["normal"])
        failed = chg["failed"].to_numpy() | (pushed & (u_fail < extra_risk))

        # care: failures and lead times scale with care as the world makes them
        new_fail, new_lead, _ = care_factors(eff, lever(chg, "new_change_care"))
        cur_fail, cur_lead, _ = care_factors(eff, lever(chg, "cur_change_care"))
        ratio = new_fail / cur_fail
        u_care = uniforms(hashed, seed, "cf/care")
        base_p = np.select([kind == name for name in p], list(p.values()), np.nan)
        flip_to_fail = (ratio > 1) & (u_care < (ratio - 1) * base_p / np.maximum(1 - base_p, 1e-9))
        failed = np.where(ratio < 1, failed & (u_care < ratio), failed | flip_to_fail)
        stretch = new_lead / cur_lead
        lead_hours = (implemented - submitted) / HOUR
        implemented = submitted + (lead_hours * stretch * 3600).astype("timedelta64[s]")
        implemented = np.where(implemented < end, implemented, np.datetime64("NaT"))
        return chg.assign(
            type=text(kind),
            cab_reviewed=reviewed,
            implemented_at=implemented.astype(NS),
            failed=failed & ~np.isnat(implemented),
        )

    def _cherry_picking(self, inc: pd.DataFrame, lever) -> pd.DataFrame:
        rise = lever(inc, "new_cherry_picking") - lever(inc, "cur_cherry_picking")
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
        closed = inc["closed_at"].to_numpy(dtype=NS)
        return inc.assign(
            responded_at=(responded + delta).astype(NS),
            resolved_at=(resolved + delta).astype(NS),
            closed_at=(closed + delta).astype(NS),
        )
