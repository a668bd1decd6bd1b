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

from dataclasses import dataclass

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


@dataclass
class _Rows:
    """Counterfactual rows as positions in the true rows, so a table is built only once.

    ``src`` is the true row, ``move`` the candidate's position in the moves table, ``copies``
    how many times the row was repeated (each repeat adds :data:`COPY` to its id), ``linked``
    how many times its change was (an incident repeats with its change) and ``hashed`` its id
    hashed, which keys its draws.
    """

    src: np.ndarray
    move: np.ndarray
    copies: np.ndarray
    linked: np.ndarray
    hashed: np.ndarray

    def subset(self, mask: np.ndarray) -> _Rows:
        """Return the rows where ``mask`` holds."""
        return _Rows(*(getattr(self, f)[mask] for f in ROW_FIELDS))

    def repeated(self, mask: np.ndarray, ids: np.ndarray, linked: bool = False) -> _Rows:
        """Return a copy of the rows where ``mask`` holds, each with one more suffix."""
        rows = self.subset(mask)
        rows.copies = rows.copies + 1
        rows.linked = rows.linked + linked
        rows.hashed = hash_ids(_suffixed(ids, rows.src, rows.copies))
        return rows

    def then(self, other: _Rows) -> _Rows:
        """Return these rows followed by ``other``."""
        return _Rows(*(np.concatenate([getattr(self, f), getattr(other, f)]) for f in ROW_FIELDS))


ROW_FIELDS = ("src", "move", "copies", "linked", "hashed")


def _suffixed(ids: np.ndarray, src: np.ndarray, copies: np.ndarray) -> np.ndarray:
    """Return the ids of rows ``src``, each followed by :data:`COPY` ``copies`` times."""
    return np.array([f"{ids[i]}{COPY * n}" for i, n in zip(src, copies, strict=True)], dtype=object)


def _expand(frame: pd.DataFrame, moves: pd.DataFrame, ids: np.ndarray) -> _Rows:
    """Repeat each team's rows once per candidate of that team, row by row."""
    teams = moves["team_id"].to_numpy(dtype=object)
    known = pd.Index(pd.unique(teams))
    code = positions(known, frame["team_id"])
    src, move = np.nonzero(code[:, None] == positions(known, teams)[None, :])
    none = np.zeros(len(src), dtype=np.int64)
    return _Rows(src, move, none, none, hash_ids(ids)[src])


def _resample(rows: _Rows, ratio: np.ndarray, draw: np.ndarray, ids: np.ndarray) -> _Rows:
    """Keep rows with probability ``ratio`` (< 1) or add copies with probability ``ratio - 1``."""
    keep = np.where(ratio < 1, draw < ratio, True)
    extra = (ratio > 1) & (draw < ratio - 1)
    return rows.subset(keep).then(rows.repeated(extra, ids))


def _built(frame: pd.DataFrame, rows: _Rows, id_column: str, labels, **columns) -> pd.DataFrame:
    """Build the table of ``rows``: true rows, suffixed ids, labels and the changed columns."""
    changed = {"team_id": text(labels[rows.move]), **columns}
    for column, copies in ((id_column, rows.copies), ("change_id", rows.linked)):
        if copies.any():
            values = frame[column].to_numpy(dtype=object)
            ids = values[rows.src]
            again = copies > 0
            ids[again] = _suffixed(values, rows.src[again], copies[again])
            changed[column] = text(ids)
    return frame.take(rows.src).reset_index(drop=True).assign(**changed)


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
        eff, seed = self.effects, self.seed
        end = np.datetime64(period_end, "ns")
        labels = moves["label"].to_numpy(dtype=object)
        incident_ids = incidents["incident_id"].to_numpy(dtype=object)
        change_ids = changes["change_id"].to_numpy(dtype=object)
        inc = _expand(incidents, moves, incident_ids)
        chg = _expand(changes, moves, change_ids)

        def lever(rows: _Rows, name: str) -> np.ndarray:
            """Each row's value of a lever column of ``moves`` (``cur_...`` or ``new_...``)."""
            return moves[name].to_numpy(dtype=float)[rows.move]

        # change pace: reliability work and care take time from delivery; the lever scales it
        def pace_of(prefix):
            return change_pace(
                eff,
                lever(chg, f"{prefix}change_rate"),
                lever(chg, f"{prefix}reliability_effort"),
                lever(chg, f"{prefix}change_care"),
            )

        pace = pace_of("new_") / pace_of("cur_")
        chg = _resample(chg, pace, uniforms(chg.hashed, seed, "cf/pace"), change_ids)
        changed = self._care_and_abuse(changes, chg, end, lever)

        # change-caused incidents follow their change (dropped, repeated, or added when flipped):
        # keyed by candidate and change, the key of a repeated change's copy one above its own
        ids = pd.Index(pd.unique(change_ids))
        code = positions(ids, change_ids)
        failed = changed["failed"]
        failed_keys = (chg.move[failed] * len(ids) + code[chg.src[failed]]) * 2 + chg.copies[failed]
        change = positions(ids, incidents["change_id"])[inc.src]
        key = np.where(change >= 0, (inc.move * len(ids) + change) * 2, -2)
        caused = (incidents["root_cause"] == "change").to_numpy()[inc.src]
        survives = ~caused | np.isin(key, failed_keys)
        again = inc.repeated(caused & np.isin(key + 1, failed_keys), incident_ids, linked=True)
        inc = inc.subset(survives).then(again)

        # reliability work: internal incident rates move after the lag, as the world does
        pull = 1.0 / (1.0 + eff.reliability_lag_periods)
        shift = lever(inc, "new_reliability_effort") - lever(inc, "cur_reliability_effort")
        ratio = np.exp(-eff.reliability_effect * pull * shift)
        internal = (incidents["root_cause"] == "internal").to_numpy()[inc.src]
        ratio = np.where(internal, ratio, 1.0)
        inc = _resample(inc, ratio, uniforms(inc.hashed, seed, "cf/reliability"), incident_ids)

        times = self._cherry_picking(incidents, inc, lever)
        return (
            _built(incidents, inc, "incident_id", labels, **times),
            _built(changes, chg, "change_id", labels, **changed),
        )

    def _care_and_abuse(self, changes: pd.DataFrame, chg: _Rows, end: np.datetime64, lever):
        """Return the changed columns of the counterfactual changes (type, CAB, times, failure)."""
        eff, cfg, seed = self.effects, self.changes_cfg, self.seed
        hashed = chg.hashed
        p = cfg.failure_probability.model_dump()

        # emergency abuse: more of it pushes pending or slow normal changes through at once
        current_abuse = lever(chg, "cur_emergency_abuse")
        rise = lever(chg, "new_emergency_abuse") - current_abuse
        u = uniforms(hashed, seed, "cf/abuse")
        kind = changes["type"].to_numpy(dtype=object)[chg.src]
        is_normal = kind == "normal"
        share_up = np.clip(rise / np.maximum(1 - current_abuse, 1e-9), 0, 1)
        pushed = is_normal & (rise > 0) & (u < share_up)
        is_emergency = kind == "emergency"
        unjustified = changes["justification"].isna().to_numpy()[chg.src]
        share_down = np.clip(-rise / np.maximum(current_abuse, 1e-9), 0, 1)
        pulled = is_emergency & unjustified & (rise < 0) & (u < share_down)
        submitted = changes["submitted_at"].to_numpy(dtype=NS)[chg.src]
        implemented = changes["implemented_at"].to_numpy(dtype=NS)[chg.src]
        fast = submitted + np.timedelta64(int(cfg.emergency_lead_time_hours * 3600), "s")
        slow = submitted + np.timedelta64(int(cfg.cab_lead_time_days * 86400), "s")
        implemented = np.where(pushed, fast, implemented)
        implemented = np.where(pulled, np.maximum(slow, implemented), implemented)
        kind = np.where(pushed, "emergency", np.where(pulled, "normal", kind))
        reviewed = changes["cab_reviewed"].to_numpy(dtype=bool)[chg.src]
        reviewed = np.where(pushed, False, np.where(pulled, True, reviewed))
        u_fail = uniforms(hashed, seed, "cf/abuse-failure")
        extra_risk = (p["emergency"] - p["normal"]) / (1 - p["normal"])
        failed = changes["failed"].to_numpy(dtype=bool)[chg.src] | (pushed & (u_fail < extra_risk))

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
        return {
            "type": text(kind),
            "cab_reviewed": reviewed,
            "implemented_at": implemented.astype(NS),
            "failed": failed & ~np.isnat(implemented),
        }

    def _cherry_picking(self, incidents: pd.DataFrame, inc: _Rows, lever) -> dict:
        """Return the shifted times of the counterfactual incidents (none if nobody moves)."""
        rise = lever(inc, "new_cherry_picking") - lever(inc, "cur_cherry_picking")
        if not rise.any():
            return {}
        opened = incidents["opened_at"].to_numpy(dtype=NS)[inc.src]
        responded = incidents["responded_at"].to_numpy(dtype=NS)[inc.src]
        resolved = incidents["resolved_at"].to_numpy(dtype=NS)[inc.src]
        work = (resolved - responded) / HOUR
        priority = incidents["priority"].to_numpy()[inc.src]
        typical = pd.Series(work).groupby(priority).transform("median").to_numpy()
        short = work < typical
        wait = (responded - opened) / HOUR
        factor = np.where(short, -CHERRY_WAIT_SHIFT, CHERRY_WAIT_SHIFT / 2) * rise
        shift = np.nan_to_num(wait * factor)
        delta = (shift * 3600).astype("timedelta64[s]")
        closed = incidents["closed_at"].to_numpy(dtype=NS)[inc.src]
        return {
            "responded_at": (responded + delta).astype(NS),
            "resolved_at": (resolved + delta).astype(NS),
            "closed_at": (closed + delta).astype(NS),
        }
