"""Reporting: gaming as named transforms from the true event log to the reported one.

Each reporting lever is an intensity in [0, 1] per team and period. An incident belongs to the
period of its ``opened_at`` and to its own team; the lever's intensity there is the chance that the
team games that incident. The transforms never add a column that names the gaming: what they leave
is the data pattern an auditor looks for (bursts of short P4 tickets without surveys, priorities
that differ from the first one given, on-hold time that ends just before the target, reopens with
linked follow-up tickets, missing minor incidents, supplier causes without an outage record).

Common random numbers
---------------------
Every random decision about an incident is a uniform draw hashed from (seed, incident id, lever and
purpose), and a lever acts iff the draw is below its intensity. So the same inputs give the same
report, raising an intensity only adds gamed incidents, and an incident seen in an earlier, shorter
truth log is reported the same way once the log grows. Padded tickets draw from (seed, team,
period, k), so the k-th padded ticket of a team and period is the same at every intensity.

Order of application (:data:`APPLICATION_ORDER`)
-------------------------------------------------
1. ``underreporting`` drops P4 incidents (P3 at half the chance); dropped incidents are not
   gamed further.
2. ``misattribution`` relabels internal and change causes as vendor or external.
3. ``priority_downgrade`` lowers the priority of incidents that breach in truth.
4. ``stop_the_clock`` adds on-hold time to resolved incidents that *still* breach, so a
   downgrade that already hides the breach is not also paused.
5. ``premature_closure`` closes early resolved incidents whose net time exceeds half of their
   (possibly downgraded) target, unless their clock was stopped: paused time would then exceed
   the shortened lifetime.
6. ``padding`` adds trivial tickets, counted on the true volume of the team and period.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.events import EventLog
from toolkit.events.schema import PRIORITIES, SCHEMA, STR, positions, text
from toolkit.sim.streams import hash_ids, uniforms

REPORTING_LEVERS = (
    "padding",
    "priority_downgrade",
    "stop_the_clock",
    "premature_closure",
    "underreporting",
    "misattribution",
)
# Gaming that changes what really happens, so the world implements it, not the reporting layer.
WORLD_GAMING_LEVERS = ("cherry_picking", "emergency_abuse")
GAMING_LEVERS = REPORTING_LEVERS + WORLD_GAMING_LEVERS
APPLICATION_ORDER = (
    "underreporting",
    "misattribution",
    "priority_downgrade",
    "stop_the_clock",
    "premature_closure",
    "padding",
)

PADDING_PER_INCIDENT = 0.3  # padded tickets per true incident at intensity 1
PADDING_HOURS = (0.1, 1.0)  # resolution time of a padded ticket
PADDING_ID = "INC-PAD-{team}-{period}-"  # then the ticket number k
PADDING_DIGITS = 4
FOLLOW_UP_SUFFIX = "-FU"  # a follow-up's id is its prematurely closed original's id plus this
EARLY_CLOSURE_SHARE = (0.3, 0.7)  # early resolution, as a share of the target after opening
FOLLOW_UP_GAP_HOURS = (0.5, 4.0)  # from the early closure to the follow-up's opening
HOLD_MARGIN_SHARE = 0.1  # stop-the-clock leaves up to this share of the target to spare
WAIT_BOOKED_SHARE = (0.5, 1.0)  # share of queue wait booked as on hold by stop-the-clock
DEFAULT_CLOSURE_DELAY_HOURS = 72.0
LOWEST_PRIORITY = max(PRIORITIES)
MISATTRIBUTED_CAUSES = ("internal", "change")

NS = "datetime64[ns]"
ONE_HOUR = np.timedelta64(1, "h")


# -- random numbers ------------------------------------------------------------------------


def _between(u: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    low, high = bounds
    return low + (high - low) * u


# -- time helpers --------------------------------------------------------------------------


def _hours(delta: np.ndarray) -> np.ndarray:
    return delta / ONE_HOUR


def _shift(times: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Return ``times`` plus ``hours`` floored to whole seconds, so a shift never passes a bound."""
    return times + np.floor(hours * 3600.0).astype("timedelta64[s]")


def _unless_after(times: np.ndarray, end: np.datetime64) -> np.ndarray:
    """Blank times after the log's end, as the world leaves closures not yet made."""
    return np.where(times > end, np.datetime64("NaT"), times).astype(NS)


# -- inputs --------------------------------------------------------------------------------


class _Periods:
    """Incentive periods, half-open ``[start, end)``, sorted and checked not to overlap."""

    def __init__(self, periods: pd.DataFrame) -> None:
        missing = {"label", "start", "end"} - set(periods.columns)
        if missing:
            raise ValueError(f"periods: missing columns {sorted(missing)}")
        ordered = periods.sort_values("start", kind="stable")
        self.labels = ordered["label"].astype(str).to_numpy(dtype=object)
        self.starts = pd.to_datetime(ordered["start"]).to_numpy(dtype=NS)
        self.ends = pd.to_datetime(ordered["end"]).to_numpy(dtype=NS)
        if pd.Index(self.labels).has_duplicates:
            raise ValueError("periods: duplicate labels")
        if (self.ends <= self.starts).any() or (self.starts[1:] < self.ends[:-1]).any():
            raise ValueError("periods: each must end after it starts and none may overlap")

    def locate(self, times: np.ndarray) -> np.ndarray:
        """Return each time's period position, or -1 outside every period."""
        position = np.searchsorted(self.starts, times, side="right") - 1
        inside = (position >= 0) & ~np.isnat(times)
        inside[inside] = times[inside] < self.ends[position[inside]]
        return np.where(inside, position, -1)


class _Intensities:
    """Lever intensities as a (period, team) grid per lever; anything not given is 0."""

    def __init__(self, intensities: pd.DataFrame, periods: _Periods) -> None:
        missing = {"period", "team_id"} - set(intensities.columns)
        if missing:
            raise ValueError(f"intensities: missing columns {sorted(missing)}")
        labels = [str(label) for label in intensities["period"]]
        team_ids = [str(team) for team in intensities["team_id"]]
        if len(set(zip(labels, team_ids, strict=True))) < len(labels):
            raise ValueError("intensities: more than one row for a (period, team_id)")
        self.teams = pd.Index(sorted(set(team_ids)), dtype=object)
        period = positions(periods.labels, labels)
        team = positions(self.teams, team_ids)
        known = period >= 0
        self.grid = {}
        for lever in REPORTING_LEVERS:
            grid = np.zeros((len(periods.labels), len(self.teams)))
            if lever in intensities.columns:
                values = pd.to_numeric(intensities[lever]).to_numpy(dtype=float)
                if not ((values >= 0) & (values <= 1)).all():
                    raise ValueError(f"intensities.{lever}: values must lie in [0, 1]")
                grid[period[known], team[known]] = values[known]
            self.grid[lever] = grid

    def at(self, lever: str, period: np.ndarray, team: np.ndarray) -> np.ndarray:
        """Return the intensity at each (period position, team code); 0 where either is -1."""
        if not self.grid[lever].size:
            return np.zeros(len(period))
        valid = (period >= 0) & (team >= 0)
        return np.where(valid, self.grid[lever][np.maximum(period, 0), np.maximum(team, 0)], 0.0)


def _target_table(sla_targets: Mapping[int, float]) -> np.ndarray:
    """Index SLA targets by priority, so ``table[priority]`` is its target in hours."""
    missing = [p for p in PRIORITIES if p not in sla_targets]
    if missing:
        raise ValueError(f"sla_targets: no target for priorities {missing}")
    table = np.full(LOWEST_PRIORITY + 1, np.nan)
    for priority in PRIORITIES:
        table[priority] = float(sla_targets[priority])
    return table


def _closure_delay_hours(incidents: pd.DataFrame) -> float:
    """Return the median hours from resolution to closure in the log, or the default."""
    delay = _hours(
        incidents["closed_at"].to_numpy(dtype=NS) - incidents["resolved_at"].to_numpy(dtype=NS)
    )
    delay = delay[~np.isnan(delay)]
    return float(np.median(delay)) if len(delay) else DEFAULT_CLOSURE_DELAY_HOURS


# -- the transforms ------------------------------------------------------------------------


class _Draft:
    """The reported incidents while the transforms run: the columns they change, as arrays.

    Parameters
    ----------
    truth : EventLog
        The true log; only its incidents table is read, never changed.
    seed : int
        The run's seed.
    """

    def __init__(self, truth: EventLog, seed: int) -> None:
        inc = truth.incidents
        self.truth = inc
        self.seed = seed
        self.hashed = hash_ids(inc["incident_id"])
        self.end = np.datetime64(truth.end, "ns")
        self.opened = inc["opened_at"].to_numpy(dtype=NS)
        self.resolved = inc["resolved_at"].to_numpy(dtype=NS)
        self.is_resolved = ~np.isnat(self.resolved)
        self.true_priority = inc["priority"].to_numpy(dtype=np.int64)
        self.true_breached = inc["sla_breached"].to_numpy(dtype=bool)
        self.true_hold = inc["on_hold_hours"].to_numpy(dtype=float)
        until = np.where(self.is_resolved, self.resolved, self.end)
        self.net = _hours(until - self.opened) - self.true_hold  # to the log's end if open
        self.keep = np.ones(len(inc), dtype=bool)
        self.stopped = np.zeros(len(inc), dtype=bool)
        self.columns: dict[str, np.ndarray | pd.Series] = {}  # changed columns, full length
        self.follow_ups: pd.DataFrame | None = None

    def column(self, name: str, dtype: object) -> np.ndarray:
        """Return the working copy of a numeric or time column, copied on first change."""
        if name not in self.columns:
            self.columns[name] = self.truth[name].to_numpy(dtype=dtype, copy=True)
        return self.columns[name]

    def relabel(self, name: str, rows: np.ndarray, values: object) -> None:
        """Set a string column at ``rows``, editing a copy of the column in place (fast)."""
        if name not in self.columns:
            self.columns[name] = self.truth[name].copy()
        self.columns[name].iloc[rows] = values

    def current(self, name: str) -> np.ndarray:
        """Return a numeric column as reported so far, without claiming it as changed."""
        if name in self.columns:
            return self.columns[name]
        return self.truth[name].to_numpy()

    def at(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Return any column's values as reported so far at ``rows``."""
        values = self.columns.get(name, self.truth[name])
        if isinstance(values, pd.Series):
            return values.iloc[rows].to_numpy()
        return values[rows]

    def decide(self, lever: str, eligible: np.ndarray, intensity: np.ndarray) -> np.ndarray:
        """Return the positions where ``lever`` acts: eligible, kept and draw < intensity."""
        rows = np.flatnonzero(eligible & self.keep & (intensity > 0))
        u = uniforms(self.hashed[rows], self.seed, lever)
        return rows[u < intensity[rows]]

    def draw(self, purpose: str, rows: np.ndarray) -> np.ndarray:
        """Return a secondary draw (when, how much, which) for incidents at ``rows``."""
        return uniforms(self.hashed[rows], self.seed, purpose)


def _underreporting(draft: _Draft, intensity: np.ndarray) -> None:
    """Leave P4 incidents (P3 at half the chance) out of the record: handled informally."""
    share = np.select(
        [draft.true_priority == LOWEST_PRIORITY, draft.true_priority == LOWEST_PRIORITY - 1],
        [intensity, intensity / 2],
        0.0,
    )
    draft.keep[draft.decide("underreporting", share > 0, share)] = False


def _misattribution(
    draft: _Draft, intensity: np.ndarray, vendor_links: Mapping[str, Sequence[str]]
) -> None:
    """Blame internal and change causes on a vendor the service depends on, else on outsiders."""
    eligible = draft.truth["root_cause"].isin(MISATTRIBUTED_CAUSES).to_numpy(dtype=bool)
    rows = draft.decide("misattribution", eligible, intensity)
    if not len(rows):
        return
    pick = draft.draw("misattribution/vendor", rows)
    services = draft.at("service_id", rows)
    vendor = np.full(len(rows), None, dtype=object)
    for service in pd.unique(services):
        linked = list(vendor_links.get(service, ()))
        if linked:
            here = services == service
            vendor[here] = np.asarray(linked, dtype=object)[(pick[here] * len(linked)).astype(int)]
    draft.relabel("root_cause", rows, np.where(pd.isna(vendor), "external", "vendor"))
    draft.relabel("vendor_id", rows, vendor)
    draft.relabel("change_id", rows, None)


def _priority_downgrade(draft: _Draft, intensity: np.ndarray, targets: np.ndarray) -> None:
    """Lower breaching incidents one priority level so that the looser target applies."""
    eligible = draft.true_breached & (draft.true_priority < LOWEST_PRIORITY)
    rows = draft.decide("priority_downgrade", eligible, intensity)
    if not len(rows):
        return
    priority = draft.column("priority", np.int64)
    priority[rows] += 1
    draft.column("sla_target_hours", float)[rows] = targets[priority[rows]]
    breached = draft.column("sla_breached", bool)
    breached[rows] = draft.net[rows] > targets[priority[rows]]


def _stop_the_clock(draft: _Draft, intensity: np.ndarray) -> None:
    """Record waiting time of slow incidents as on hold ("waiting for the user").

    Still-breaching incidents are held at least long enough to meet the target; other slow
    ones (over half their target) have half to all of their queue wait booked as on hold.
    """
    target_now = draft.current("sla_target_hours")
    breaching = draft.current("sla_breached")
    eligible = draft.is_resolved & (breaching | (draft.net > target_now / 2))
    rows = draft.decide("stop_the_clock", eligible, intensity)
    if not len(rows):
        return
    target = target_now[rows]
    margin = HOLD_MARGIN_SHARE * target * (1 - draft.draw("stop_the_clock/margin", rows))
    needed = np.where(breaching[rows], draft.net[rows] - target + margin, 0.0)
    responded = draft.truth["responded_at"].to_numpy(dtype=NS)[rows]
    wait = np.nan_to_num(_hours(responded - draft.opened[rows]))
    booked = wait * _between(draft.draw("stop_the_clock/wait", rows), WAIT_BOOKED_SHARE)
    added = np.minimum(np.maximum(needed, booked), draft.net[rows])
    booking = added > 0  # nothing to book: the incident is left to other levers
    rows, added, target = rows[booking], added[booking], target[booking]
    draft.column("on_hold_hours", float)[rows] = draft.true_hold[rows] + added
    draft.column("sla_breached", bool)[rows] = draft.net[rows] - added > target
    draft.stopped[rows] = True


def _premature_closure(
    draft: _Draft, intensity: np.ndarray, targets: np.ndarray, delay_hours: float
) -> None:
    """Close slow incidents early; the rest of the work reappears as a linked follow-up.

    The early resolution comes 30-70% of the target after opening (of the true net time, when
    that is shorter than the target), so it is always before the true resolution.
    """
    target_now = draft.current("sla_target_hours")
    eligible = draft.is_resolved & ~draft.stopped & (draft.net > target_now / 2)
    rows = draft.decide("premature_closure", eligible, intensity)
    if not len(rows):
        return
    target, net, hold = target_now[rows], draft.net[rows], draft.true_hold[rows]
    share = _between(draft.draw("premature_closure/when", rows), EARLY_CLOSURE_SHARE)
    early = _shift(draft.opened[rows], hold + share * np.minimum(target, net))
    resolved = draft.resolved[rows]
    gap = np.minimum(
        _between(draft.draw("premature_closure/gap", rows), FOLLOW_UP_GAP_HOURS),
        _hours(resolved - early) / 2,
    )
    follow_opened = _shift(early, gap)

    true_closed = draft.at("closed_at", rows)
    own_delay = _hours(true_closed - resolved)
    closed = _shift(early, np.where(np.isnan(own_delay), delay_hours, own_delay))
    responded = draft.column("responded_at", NS)
    true_responded = responded[rows].copy()
    responded[rows] = np.where(true_responded > early, early, true_responded)
    draft.column("resolved_at", NS)[rows] = early
    draft.column("closed_at", NS)[rows] = _unless_after(closed, draft.end)
    draft.column("reopen_count", np.int64)[rows] += 1
    draft.column("sla_breached", bool)[rows] = _hours(early - draft.opened[rows]) - hold > target

    late_start = np.isnat(true_responded) | (true_responded < follow_opened)
    priority = draft.at("priority", rows)
    draft.follow_ups = _added(
        {
            "incident_id": draft.at("incident_id", rows) + FOLLOW_UP_SUFFIX,
            "service_id": draft.at("service_id", rows),
            "team_id": draft.at("team_id", rows),
            "opened_at": follow_opened,
            "responded_at": np.where(late_start, follow_opened, true_responded),
            "resolved_at": resolved,
            "closed_at": true_closed,
            "priority": priority,
            "priority_initial": priority,
            "root_cause": draft.at("root_cause", rows),
            "change_id": draft.at("change_id", rows),
            "vendor_id": draft.at("vendor_id", rows),
            "reopen_count": 0,
            "reassignment_count": 0,
            "on_hold_hours": 0.0,
            "sla_target_hours": targets[priority],
            "sla_breached": _hours(resolved - follow_opened) > targets[priority],
            "csat": np.nan,
        }
    )


def _added(columns: dict[str, object], rows: np.ndarray | None = None) -> pd.DataFrame:
    """Build added tickets in the schema's dtypes, so appending them keeps the log's dtypes.

    ``columns`` holds every incident column, as arrays or scalars; ``rows`` keeps some tickets.
    """
    n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray | pd.Series))
    typed = {}
    for name, dtype in SCHEMA["incidents"].items():
        values = columns[name]
        values = np.full(n, values, dtype=object) if np.ndim(values) == 0 else np.asarray(values)
        if rows is not None:
            values = values[rows]
        typed[name] = text(values) if dtype == STR else values.astype(dtype)
    return pd.DataFrame(typed)


def _padding(
    truth: EventLog,
    levels: _Intensities,
    periods: _Periods,
    period: np.ndarray,
    team: np.ndarray,
    seed: int,
    targets: np.ndarray,
    delay_hours: float,
) -> pd.DataFrame | None:
    """Add short trivial P4 tickets, about 0.3 per true incident of the team and period at 1.

    The count is rounded stochastically with a fixed draw per (team, period), so it only grows
    with the intensity, and each ticket's attributes are drawn from its own id. Only tickets
    resolved inside the log's window exist yet.
    """
    grid = levels.grid["padding"]
    if not grid.any():
        return None
    known = (period >= 0) & (team >= 0)
    cells = period[known] * len(levels.teams) + team[known]
    true_volume = np.bincount(cells, minlength=grid.size).reshape(grid.shape)
    cell_period, cell_team = np.nonzero(grid > 0)
    cell_team_ids = levels.teams.to_numpy(dtype=object)[cell_team]
    stems = [
        PADDING_ID.format(team=t, period=p)
        for t, p in zip(cell_team_ids, periods.labels[cell_period], strict=True)
    ]
    rounding = uniforms(hash_ids(stems), seed, "padding/count")
    expected = PADDING_PER_INCIDENT * grid[cell_period, cell_team]
    count = np.floor(expected * true_volume[cell_period, cell_team] + rounding).astype(int)
    if not count.sum():
        return None
    cell = np.repeat(np.arange(len(count)), count)
    k = np.arange(len(cell)) - np.repeat(np.cumsum(count) - count, count)
    ids = np.array(
        [f"{stems[c]}{j:0{PADDING_DIGITS}d}" for c, j in zip(cell, k, strict=True)], dtype=object
    )
    hashed = hash_ids(ids)
    team_ids = cell_team_ids[cell]
    start, end = periods.starts[cell_period[cell]], periods.ends[cell_period[cell]]
    opened = _shift(start, uniforms(hashed, seed, "padding/opened") * _hours(end - start))
    resolved = _shift(opened, _between(uniforms(hashed, seed, "padding/hours"), PADDING_HOURS))
    service = _team_services(truth, team_ids, uniforms(hashed, seed, "padding/service"))
    window_end = np.datetime64(truth.end, "ns")
    exists = (opened >= np.datetime64(truth.start, "ns")) & (resolved <= window_end)
    exists &= ~pd.isna(service)
    target = targets[LOWEST_PRIORITY]
    closed = _unless_after(_shift(resolved, np.full(len(cell), delay_hours)), window_end)
    return _added(
        {
            "incident_id": ids,
            "service_id": service,
            "team_id": team_ids,
            "opened_at": opened,
            "responded_at": opened,
            "resolved_at": resolved,
            "closed_at": closed,
            "priority": LOWEST_PRIORITY,
            "priority_initial": LOWEST_PRIORITY,
            "root_cause": "internal",
            "change_id": None,
            "vendor_id": None,
            "reopen_count": 0,
            "reassignment_count": 0,
            "on_hold_hours": 0.0,
            "sla_target_hours": target,
            "sla_breached": _hours(resolved - opened) > target,
            "csat": np.nan,
        },
        exists,
    )


def _team_services(truth: EventLog, team_ids: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Pick a service of each team: from the services table, else from its incidents."""
    listed = truth.services[["team_id", "service_id"]].dropna()
    code, teams = pd.factorize(listed["team_id"].to_numpy(dtype=object))
    offered = listed["service_id"].to_numpy(dtype=object)[np.argsort(code, kind="stable")]
    count = np.bincount(code, minlength=len(teams))
    first = np.cumsum(count) - count
    team = positions(teams, team_ids)
    service = np.full(len(team_ids), None, dtype=object)
    has = team >= 0
    chosen = first[team[has]] + (pick[has] * count[team[has]]).astype(int)
    service[has] = offered[chosen]
    for unlisted in pd.unique(np.asarray(team_ids, dtype=object)[~has]):
        seen = truth.incidents.loc[truth.incidents["team_id"] == unlisted, "service_id"]
        options = np.sort(seen.unique().to_numpy(dtype=object))
        here = ~has & (team_ids == unlisted)
        if len(options):
            service[here] = options[(pick[here] * len(options)).astype(int)]
    return service


def _gamed(truth, intensity, levels, spans, period, team, *, seed, targets, vendor_links):
    """Apply the transforms in :data:`APPLICATION_ORDER`; return the reported incidents."""
    inc = truth.incidents
    delay_hours = _closure_delay_hours(inc)
    draft = _Draft(truth, seed)
    _underreporting(draft, intensity["underreporting"])
    _misattribution(draft, intensity["misattribution"], vendor_links)
    _priority_downgrade(draft, intensity["priority_downgrade"], targets)
    _stop_the_clock(draft, intensity["stop_the_clock"])
    _premature_closure(draft, intensity["premature_closure"], targets, delay_hours)
    padded = _padding(truth, levels, spans, period, team, seed, targets, delay_hours)

    reported = inc.assign(**draft.columns) if draft.columns else inc.copy()
    if not draft.keep.all():
        reported = reported.loc[draft.keep].reset_index(drop=True)
    added = [frame for frame in (draft.follow_ups, padded) if frame is not None and len(frame)]
    if added:
        reported = pd.concat([reported, *added], ignore_index=True)
    return reported


# -- the public entry point ----------------------------------------------------------------


def report(
    truth: EventLog,
    intensities: pd.DataFrame,
    periods: pd.DataFrame,
    *,
    seed: int,
    sla_targets: Mapping[int, float],
    vendor_links: Mapping[str, Sequence[str]],
) -> EventLog:
    """Derive the reported log from the true log under the teams' reporting levers.

    Parameters
    ----------
    truth : EventLog
        What really happened; not modified.
    intensities : DataFrame
        Columns ``period`` (a label of ``periods``), ``team_id`` and one column per lever of
        :data:`REPORTING_LEVERS`, each in [0, 1]. Missing lever columns and missing (period,
        team) rows mean 0; other columns (say, world levers) and unknown periods are ignored.
    periods : DataFrame
        Columns ``label, start, end``: non-overlapping half-open periods ``[start, end)``. An
        incident belongs to the period of its ``opened_at``; incidents outside every period are
        reported as they are.
    seed : int
        Keys every random decision, with the incident id (or team, period and ticket number).
    sla_targets : mapping of int to float
        Resolution target in hours per priority 1..4, for downgraded, padded and follow-up tickets.
    vendor_links : mapping of str to sequence of str
        Vendor ids each service depends on; misattribution blames one of them, else outsiders.

    Returns
    -------
    EventLog
        A new log with ``meta["view"] == "reported"``: gamed incidents changed, underreported ones
        left out, follow-ups (``<id>-FU``) and padded tickets (``INC-PAD-...``) appended; changes,
        outages and services as in the truth.

    Raises
    ------
    ValueError
        For malformed periods or intensities, an intensity outside [0, 1] or a missing SLA target.
    """
    targets = _target_table(sla_targets)
    spans = _Periods(periods)
    levels = _Intensities(intensities, spans)
    inc = truth.incidents
    period = spans.locate(inc["opened_at"].to_numpy(dtype=NS))
    team = positions(levels.teams, inc["team_id"])
    intensity = {lever: levels.at(lever, period, team) for lever in REPORTING_LEVERS}
    if any(values.any() for values in intensity.values()) or levels.grid["padding"].any():
        reported = _gamed(
            truth,
            intensity,
            levels,
            spans,
            period,
            team,
            seed=seed,
            targets=targets,
            vendor_links=vendor_links,
        )
    else:  # nobody games: the record is the truth
        reported = inc.copy()
    return EventLog(
        incidents=reported,
        changes=truth.changes,
        outages=truth.outages,
        services=truth.services,
        start=truth.start,
        end=truth.end,
        meta={**copy.deepcopy(truth.meta), "view": "reported"},
    )
