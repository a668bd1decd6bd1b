"""What a team expects a period would have looked like under other levers.

Teams value a candidate move by scoring a counterfactual log with the plan's own code. The
counterfactual starts from the team's true log of the period and applies the expected effect
of each world lever (its mental model of the world): reliability work thins its internal
incidents by the share of its lagged effect the team will see over its horizon, diligence
thins recurring internal incidents and shortens hands-on work, the change pace thins or repeats
changes (with the incidents they caused), care flips failures and stretches lead times,
emergency abuse pushes normal changes past CAB, cherry-picking moves waiting time from short
tickets to long ones. Fewer or shorter jobs shorten everyone's wait in the team's queue, as a
priority queue at the team's load would (:mod:`toolkit.behaviour.queueing`). Reporting levers
are then applied by :func:`toolkit.behaviour.reporting.report`, exactly as for the real record.

Every random decision is keyed by the row id (common random numbers), so candidates differ
only where their levers differ. All candidates of all teams are built in one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.behaviour.levers import ALL_LEVERS, LeverSet
from toolkit.behaviour.queueing import wait_ratios
from toolkit.config.scenario import Scenario
from toolkit.events.schema import positions, text
from toolkit.sim.levers import care_factors, change_pace, diligence_factors
from toolkit.sim.streams import hash_ids, uniforms
from toolkit.sim.world import CHANGE_QUEUE_KEY

NS = "datetime64[ns]"
HOUR = np.timedelta64(1, "h")
CHERRY_WAIT_SHIFT = 0.6  # share of a short ticket's wait that full cherry-picking removes
COPY = "~x"  # suffix of a row a candidate repeats (a change made twice, its incident)
SUPPLIER_CAUSES = ("vendor", "external")  # resolved when the outage ends, not by the team


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
        incidents = scenario.environment.incidents
        self.capacity = {team.id: team.capacity for team in scenario.organisation.teams}
        # the queue's classes in the order they are served: queued priorities, changes with 3
        keys = {float(p) for p in incidents.work_time if p not in incidents.swarm_priorities}
        self.classes = np.array(sorted(keys | {CHANGE_QUEUE_KEY}))
        rework = 1 + incidents.reopen_probability * incidents.reopen_work_fraction
        self.mean_work = np.full(max(incidents.work_time) + 1, np.nan)
        for priority, spec in incidents.work_time.items():
            self.mean_work[priority] = spec.mean_hours * rework
        self.swarmed = np.array(incidents.swarm_priorities, dtype=np.int64)
        self.reassignment_delay = incidents.reassignment_delay_hours
        self.change_hours = self.changes_cfg.engineering_hours.model_dump()

    def moves_table(
        self,
        pairs: list[tuple[str, str, LeverSet, LeverSet]],
        reliability_pull: list[float] | None = None,
    ) -> pd.DataFrame:
        """Tabulate (label, team, current levers, candidate levers) as one row per label.

        Parameters
        ----------
        pairs : list of tuple
            One (label, team id, current levers, candidate levers) per candidate.
        reliability_pull : list of float, optional
            Per candidate, the share of a change in reliability work the team expects to see in
            its incident rates, averaged over the periods it looks ahead; by default the share
            the world shows after one period, ``1 / (1 + reliability_lag_periods)``.
        """
        labels, teams, current, candidate = zip(*pairs, strict=True) if pairs else ([],) * 4
        columns = {"label": text(list(labels)), "team_id": text(list(teams))}
        for prefix, levers in (("cur_", current), ("new_", candidate)):
            for name in ALL_LEVERS:
                columns[prefix + name] = np.array([lev[name] for lev in levers], dtype=float)
        one_period = 1.0 / (1.0 + self.effects.reliability_lag_periods)
        pull = [one_period] * len(labels) if reliability_pull is None else reliability_pull
        columns["reliability_pull"] = np.array(pull, dtype=float)
        return pd.DataFrame(columns)

    def build(
        self,
        incidents: pd.DataFrame,
        changes: pd.DataFrame,
        moves: pd.DataFrame,
        period: tuple[pd.Timestamp, pd.Timestamp],
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return counterfactual incidents and changes, with ``team_id`` set to each label.

        Parameters
        ----------
        incidents, changes : DataFrame
            The true rows of the period, for every team that has candidates.
        moves : DataFrame
            From :meth:`moves_table`.
        period : tuple of Timestamp
            The period's start and end: changes pushed past its end are not implemented within
            it, and the jobs that arrive in it make the load its waits depend on.
        """
        eff, seed = self.effects, self.seed
        start, end = (np.datetime64(edge, "ns") for edge in period)
        labels = moves["label"].to_numpy(dtype=object)
        incident_ids = incidents["incident_id"].to_numpy(dtype=object)
        change_ids = changes["change_id"].to_numpy(dtype=object)
        inc = true_inc = _expand(incidents, moves, incident_ids)
        chg = true_chg = _expand(changes, moves, change_ids)

        def lever(rows: _Rows, name: str) -> np.ndarray:
            """Each row's value of a column of ``moves`` (``cur_...``, ``new_...``, ...)."""
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

        # reliability work moves internal incident rates after the lag, as the world does, and
        # diligence stops recurring faults at once
        shift = lever(inc, "new_reliability_effort") - lever(inc, "cur_reliability_effort")
        ratio = np.exp(-eff.reliability_effect * lever(inc, "reliability_pull") * shift)
        _, recurrence_new = diligence_factors(eff, lever(inc, "new_diligence"))
        _, recurrence_cur = diligence_factors(eff, lever(inc, "cur_diligence"))
        ratio = ratio * recurrence_new / recurrence_cur
        internal = (incidents["root_cause"] == "internal").to_numpy()[inc.src]
        ratio = np.where(internal, ratio, 1.0)
        inc = _resample(inc, ratio, uniforms(inc.hashed, seed, "cf/reliability"), incident_ids)

        queue = self._queue(
            incidents, changes, (true_inc, true_chg), (inc, chg), changed, moves, (start, end)
        )
        times = self._times(incidents, inc, lever, queue, (start, end))
        return (
            _built(incidents, inc, "incident_id", labels, **times),
            _built(changes, chg, "change_id", labels, **changed),
        )

    def _queue(self, incidents, changes, now, then, changed, moves, period) -> np.ndarray:
        """Return each candidate's expected wait ratio per queue class (candidates × classes).

        A job's hours are its type's mean (incidents by priority, with rework, and scaled by
        the diligence it is worked with; changes by type), so the load is what the team can
        know of its queue. Incidents count in the period they open in, changes in the period
        their work ends in; the load is their hours over the team's handler hours.
        """
        start, end = period
        n_moves, n_classes = len(moves), len(self.classes)

        def lever(rows: _Rows, name: str) -> np.ndarray:
            return moves[name].to_numpy(dtype=float)[rows.move]

        def tally(inc: _Rows, chg: _Rows, diligence: np.ndarray, kinds, implemented):
            opened = incidents["opened_at"].to_numpy(dtype=NS)[inc.src]
            priority = incidents["priority"].to_numpy(dtype=np.int64)[inc.src]
            queued = (opened >= start) & (opened < end) & ~np.isin(priority, self.swarmed)
            work, _ = diligence_factors(self.effects, diligence)
            hours = self.mean_work[priority] * work
            done = ~np.isnat(implemented) & (implemented >= start) & (implemented < end)
            change_hours = np.array([self.change_hours[kind] for kind in kinds], dtype=float)
            moves = np.concatenate([inc.move[queued], chg.move[done]])
            cls = np.concatenate(
                [
                    np.searchsorted(self.classes, priority[queued].astype(float)),
                    np.full(done.sum(), np.searchsorted(self.classes, CHANGE_QUEUE_KEY)),
                ]
            )
            weights = np.concatenate([hours[queued], change_hours[done]])
            cell = moves * n_classes + cls
            total = np.bincount(cell, weights=weights, minlength=n_moves * n_classes)
            jobs = np.bincount(moves, minlength=n_moves)
            return total.reshape(n_moves, n_classes), jobs

        true_inc, true_chg = now
        cf_inc, cf_chg = then
        hours_now, jobs_now = tally(
            true_inc,
            true_chg,
            lever(true_inc, "cur_diligence"),
            changes["type"].to_numpy(dtype=object)[true_chg.src],
            changes["implemented_at"].to_numpy(dtype=NS)[true_chg.src],
        )
        hours_then, jobs_then = tally(
            cf_inc,
            cf_chg,
            lever(cf_inc, "new_diligence"),
            changed["type"],
            changed["implemented_at"],
        )
        servers = np.array([self.capacity[team] for team in moves["team_id"]], dtype=np.int64)
        handler_hours = servers * ((end - start) / HOUR)
        with np.errstate(invalid="ignore", divide="ignore"):
            work_now = hours_now.sum(axis=1) / jobs_now
            work_then = hours_then.sum(axis=1) / jobs_then
        return wait_ratios(
            servers,
            hours_now / handler_hours[:, None],
            hours_then / handler_hours[:, None],
            np.nan_to_num(work_now),
            np.nan_to_num(work_then),
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

    def _times(self, incidents, inc: _Rows, lever, queue: np.ndarray, period) -> dict:
        """Return the counterfactual incidents' times where a candidate moves them.

        Of an incident opened in the period, the wait for a handler scales with its class's
        wait ratio and cherry-picking moves waiting time from short tickets to long ones; the
        time from response to resolution scales with diligence, except for incidents waiting on
        a supplier's outage and for reopened ones (whose rework sits between waits).
        """
        start, end = period
        opened = incidents["opened_at"].to_numpy(dtype=NS)[inc.src]
        priority = incidents["priority"].to_numpy(dtype=np.int64)[inc.src]
        fresh = (opened >= start) & (opened < end)
        queued = fresh & ~np.isin(priority, self.swarmed)
        cls = np.minimum(np.searchsorted(self.classes, priority.astype(float)), queue.shape[1] - 1)
        wait_ratio = np.where(queued, queue[inc.move, cls] if queue.size else 1.0, 1.0)
        work_new, _ = diligence_factors(self.effects, lever(inc, "new_diligence"))
        work_cur, _ = diligence_factors(self.effects, lever(inc, "cur_diligence"))
        by_team = ~incidents["root_cause"].isin(SUPPLIER_CAUSES).to_numpy(dtype=bool)[inc.src]
        once = (incidents["reopen_count"].to_numpy() == 0)[inc.src]
        work_ratio = np.where(fresh & by_team & once, work_new / work_cur, 1.0)
        rise = lever(inc, "new_cherry_picking") - lever(inc, "cur_cherry_picking")
        if not (rise.any() or (wait_ratio != 1).any() or (work_ratio != 1).any()):
            return {}
        responded = incidents["responded_at"].to_numpy(dtype=NS)[inc.src]
        resolved = incidents["resolved_at"].to_numpy(dtype=NS)[inc.src]
        # the queue's part of the wait: the time lost to reassignments does not scale with load
        passed = incidents["reassignment_count"].to_numpy(dtype=float)[inc.src]
        wait = np.nan_to_num((responded - opened) / HOUR)
        queued_wait = np.maximum(wait - passed * self.reassignment_delay, 0.0)
        work = np.nan_to_num((resolved - responded) / HOUR)
        typical = pd.Series(work).groupby(priority).transform("median").to_numpy()
        picking = np.where(work < typical, -CHERRY_WAIT_SHIFT, CHERRY_WAIT_SHIFT / 2) * rise
        to_response = queued_wait * (wait_ratio - 1) + wait * picking
        to_resolution = to_response + work * (work_ratio - 1)
        closed = incidents["closed_at"].to_numpy(dtype=NS)[inc.src]
        resolved_new = resolved + _hours(to_resolution)
        elapsed = np.where(np.isnat(resolved_new), np.datetime64(end, "ns"), resolved_new) - opened
        breached = np.where(
            np.isnat(resolved),
            incidents["sla_breached"].to_numpy(dtype=bool)[inc.src],
            elapsed / HOUR > incidents["sla_target_hours"].to_numpy(dtype=float)[inc.src],
        )
        return {
            "responded_at": (responded + _hours(to_response)).astype(NS),
            "resolved_at": resolved_new.astype(NS),
            "closed_at": (closed + _hours(to_resolution)).astype(NS),
            "sla_breached": breached,
        }


def _hours(values: np.ndarray) -> np.ndarray:
    """Convert hours to a timedelta array, to the second."""
    return (np.asarray(values) * 3600).astype("timedelta64[s]")
