"""Fit a scenario's environment to an event log, so a client's world can be simulated.

Fitted from the log: the arrival rate of each service (as its complexity relative to a base
rate), the priority mix, lognormal work times per priority, the reopen and reassignment
probabilities, the closure delay, the SLA targets (from the log or given) and, without a base
scenario, each team's capacity. With a base scenario the organisation (teams, people, vendors,
business units) and every environment setting not fitted come from the base; without one, teams
and services are derived from the log and everything the log cannot tell is a documented
placeholder, listed in the scenario's description and in :attr:`Calibration.notes`.

Priorities are the opening priority (``priority_initial``): the one the environment draws.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from toolkit.config import Scenario
from toolkit.events import EventLog
from toolkit.events.schema import PRIORITIES

HOURS_PER_YEAR = 8766.0  # 365.25 days, as the simulation counts a year
HOUR = pd.Timedelta(1, "h")
MIN_FIT = 5  # fewest durations for a lognormal fit of its own
WORK_FLOOR_HOURS = 1 / 120  # 30 s: half the minute resolution of most exports
CAPACITY_QUANTILE = 0.95
MAX_COMPLEXITY = 20.0
MAX_CAPACITY = 1000
MAX_REASSIGNMENT_PROBABILITY = 0.95
PLACEHOLDER = "placeholder: "
PLACEHOLDER_WORK = {"distribution": "lognormal", "median_hours": 8.0, "sigma": 1.0}
WRITTEN_BY = "# Written by lti calibrate."  # first line of every scenario written here
PLACEHOLDER_PERSON = {
    "role": "placeholder",
    "grade": "unknown",
    "country": "ZZ",
    "gender": "undisclosed",
    "base_salary": 1.0,
}
SWITCHED_OFF_CHANGES = {
    "rate_per_service_per_year": 0.0,
    "mix": {"standard": 1.0, "normal": 0.0, "emergency": 0.0},
    "cab_lead_time_days": 1.0,
    "failure_probability": {"standard": 0.0, "normal": 0.0, "emergency": 0.0},
    "incidents_per_failed_change": 1.0,
}


@dataclass
class Calibration:
    """A calibrated scenario and how it was obtained.

    Parameters
    ----------
    scenario : dict
        The complete scenario document, ready to be written as YAML.
    fits : DataFrame
        One row per priority: ``priority, share, incidents, fitted, median_hours, sigma,
        sla_target_hours, work_time_from``.
    notes : list of str
        What was fitted from what, and every placeholder.
    """

    scenario: dict
    fits: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _sig(value: float, digits: int = 4) -> float:
    """Round to significant digits: fitted values carry no more precision than that."""
    return float(f"{value:.{digits}g}")


def _slug(text: str) -> str:
    """Turn a source id (``Group 56``) into a scenario identifier (``Group-56``)."""
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", str(text)).strip("-_.")[:64]
    return slug or "x"


def _identifiers(names: Iterable[str]) -> dict[str, str]:
    """Map source ids to unique scenario identifiers."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        candidate, n = _slug(name), 1
        while candidate in used:
            n += 1
            candidate = f"{_slug(name)[:60]}-{n}"
        used.add(candidate)
        out[name] = candidate
    return out


def _modelled_causes(base: Scenario | None) -> set[str]:
    """Root causes the scenario generates by a process of its own, not by service arrivals."""
    if base is None:
        return set()
    org, env = base.organisation, base.environment
    depended = {v for s in org.services for v in s.vendor_dependencies}
    causes = set()
    for vendor in org.vendors:
        rates = [vendor.outage_rate_per_year] + [
            s.outage_rate_per_year for s in vendor.subcontractors
        ]
        if vendor.id in depended and max(rates) > 0:
            causes.add("vendor")
    if env.attacks.rate_per_year > 0:
        causes.add("external")
    failing = max(env.changes.failure_probability.model_dump().values()) > 0
    if env.changes.rate_per_service_per_year > 0 and failing:
        causes.add("change")
    return causes


def work_hours(incidents: pd.DataFrame) -> pd.Series:
    """Return hands-on hours: responded→resolved, else opened→resolved less on-hold time.

    The second includes the wait in the queue, so it over-states work where ``responded_at``
    is not exported. Durations under 30 s are counted as 30 s so their logarithm exists.
    """
    hands_on = (incidents["resolved_at"] - incidents["responded_at"]) / HOUR
    elapsed = (incidents["resolved_at"] - incidents["opened_at"]) / HOUR
    hours = hands_on.fillna(elapsed - incidents["on_hold_hours"])
    return hours.clip(lower=WORK_FLOOR_HOURS)


def fit_lognormal(hours: pd.Series) -> tuple[float, float]:
    """Fit a lognormal by the moments of the log; return (median hours, sigma)."""
    logs = np.log(hours.to_numpy(dtype=float))
    return math.exp(logs.mean()), float(logs.std(ddof=1))


def _work_entry(median: float, sigma: float) -> dict:
    return {
        "distribution": "lognormal",
        "median_hours": _sig(median),
        "sigma": _sig(min(max(sigma, 0.01), 4.0)),
    }


def _capacity(incidents: pd.DataFrame, owner: pd.Series, log: EventLog) -> dict[str, int]:
    """Estimate each team's capacity as a high quantile of its incidents in progress per hour.

    In progress means responded→resolved where ``responded_at`` exists, else opened→resolved
    (queue included, matching work times fitted the same way); unresolved ones run to the end.
    Reopened incidents are left out, as in the work-time fit: their span holds the reopen gap.
    """
    incidents = incidents.loc[incidents["reopen_count"] == 0]
    start = incidents["responded_at"].fillna(incidents["opened_at"]).to_numpy("datetime64[ns]")
    end = incidents["resolved_at"].fillna(log.end).to_numpy("datetime64[ns]")
    grid = pd.date_range(log.start, log.end, freq="h").to_numpy("datetime64[ns]")
    team = incidents["service_id"].map(owner).to_numpy()
    out = {}
    for name in sorted(set(owner)):
        mine = team == name
        starts, ends = np.sort(start[mine]), np.sort(end[mine])
        busy = np.searchsorted(starts, grid, "right") - np.searchsorted(ends, grid, "right")
        level = math.ceil(np.quantile(busy, CAPACITY_QUANTILE)) if len(grid) else 1
        out[name] = int(min(max(level, 1), MAX_CAPACITY))
    return out


def _owners(log: EventLog) -> pd.Series:
    """Return each service's owning team: the log's services table, else the busiest team."""
    listed = log.services.dropna(subset=["team_id"]).drop_duplicates("service_id")
    owner = listed.set_index("service_id")["team_id"]
    counts = log.incidents.groupby(["service_id", "team_id"]).size().rename("n").reset_index()
    counts = counts.sort_values(["service_id", "n", "team_id"], ascending=[True, False, True])
    busiest = counts.drop_duplicates("service_id").set_index("service_id")["team_id"]
    return pd.concat([owner, busiest[~busiest.index.isin(owner.index)]]).astype(str)


def _sla_targets(
    incidents: pd.DataFrame, given: dict[int, float] | None, base: Scenario | None
) -> tuple[dict[int, float], str]:
    """Return SLA hours per priority: given, else the log's own, else the base's."""
    if given:
        return dict(given), "given"
    by_priority = incidents.groupby("priority")["sla_target_hours"].agg(lambda s: s.mode().iloc[0])
    targets = {int(p): float(h) for p, h in by_priority.items()}
    if base is not None:
        targets = {**base.environment.incidents.sla_target_hours, **targets}
    return targets, "from the log"


def _fill_priorities(table: dict, needed: Iterable[int]) -> dict:
    """Give each needed priority a value, borrowing the nearest priority's where missing."""
    known = sorted(table)
    return {
        p: table[p] if p in table else table[min(known, key=lambda k: (abs(k - p), k))]
        for p in sorted(set(needed) | set(known))
    }


def calibrate(
    log: EventLog,
    *,
    base: Scenario | None = None,
    sla_targets: dict[int, float] | None = None,
    name: str = "calibrated",
    source: str = "an event log",
) -> Calibration:
    """Fit a scenario to an event log.

    Parameters
    ----------
    log : EventLog
        An ingested export or a simulated log.
    base : Scenario, optional
        Supplies the organisation and every environment setting not fitted; services whose id
        matches a service of the log get their complexity refitted.
    sla_targets : dict of int to float, optional
        Resolution SLA hours per priority, overriding the log's.
    name : str
        The scenario's name.
    source : str
        Where the log came from, for the description.

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        If the log holds no incident inside its window.
    """
    notes: list[str] = []
    years = (log.end - log.start) / HOUR / HOURS_PER_YEAR
    inside = (log.incidents["opened_at"] >= log.start) & (log.incidents["opened_at"] < log.end)
    incidents = log.incidents.loc[inside].copy()
    if incidents.empty or years <= 0:
        raise ValueError("the log holds no incident inside its window: nothing to calibrate")
    middle = (incidents["opened_at"].median() - log.start) / (log.end - log.start)
    if not 0.25 <= middle <= 0.75:
        notes.append(
            f"warning: half the incidents were opened in the {'last' if middle > 0.5 else 'first'} "
            f"{min(middle, 1 - middle):.0%} of the window; if the export samples a shorter period "
            "(say, incidents closed in it), rates over the whole window are too low"
        )
    causes = _modelled_causes(base)
    if causes:
        notes.append(
            f"incidents caused by {', '.join(sorted(causes))} are generated by the base's own "
            "processes, so they are left out of the service arrival rates"
        )
    if causes - {"change"}:
        notes.append(
            "vendor and external incidents are left out of the priority mix and work times"
        )
    arrivals = incidents.loc[~incidents["root_cause"].isin(causes)]
    drawn = incidents.loc[~incidents["root_cause"].isin(causes - {"change"})]

    counts = drawn["priority_initial"].value_counts().sort_index()
    shares = (counts / counts.sum()).round(6)
    shares.iloc[int(np.argmax(shares.to_numpy()))] += 1.0 - shares.sum()
    mix = {int(p): float(s) for p, s in shares.items()}

    resolved = drawn.loc[drawn["resolved_at"].notna() & (drawn["reopen_count"] == 0)]
    hours = work_hours(resolved)
    if resolved["responded_at"].isna().any():
        share = resolved["responded_at"].isna().mean()
        notes.append(
            f"work time of {share:.0%} of incidents is opened→resolved less on-hold time "
            "(no responded_at): it includes the wait in the queue"
        )
    base_work = base.environment.incidents.work_time if base is not None else {}
    rows, work = [], {}
    for priority in sorted(set(mix) | set(PRIORITIES)):
        sample = hours[resolved["priority_initial"] == priority]
        if len(sample) >= MIN_FIT:
            work[priority] = _work_entry(*fit_lognormal(sample))
            origin = "fitted"
        elif priority in base_work:
            work[priority] = base_work[priority].model_dump()
            origin = "base"
        elif priority in mix and len(hours) >= MIN_FIT:
            work[priority] = _work_entry(*fit_lognormal(hours))
            origin = "pooled"
            notes.append(f"priority {priority}: too few resolved incidents, pooled work time")
        elif priority in mix:
            work[priority] = dict(PLACEHOLDER_WORK)
            origin = "placeholder"
            notes.append(f"priority {priority}: no data for work time, placeholder used")
        else:
            continue
        rows.append((priority, len(sample), origin))

    targets, target_origin = _sla_targets(incidents, sla_targets, base)
    needed = set(mix)
    if base is not None:
        env = base.environment
        if env.attacks.rate_per_year > 0:
            needed.add(env.attacks.priority)
        needed |= {s.criticality for s in base.organisation.services if s.vendor_dependencies}
        work = {**{p: w.model_dump() for p, w in base_work.items()}, **work}
    targets = _fill_priorities(targets, needed | {1, 2, 3, 4})  # any priority can be reported
    for priority in sorted(needed - set(work)):
        work[priority] = dict(PLACEHOLDER_WORK)
        notes.append(f"priority {priority}: no data for work time, placeholder used")
    notes.append(f"SLA targets {target_origin}: {targets}")

    reopens = incidents.loc[incidents["resolved_at"].notna(), "reopen_count"]
    reopen_probability = reopens.sum() / (reopens.sum() + len(reopens)) if len(reopens) else 0.0
    mean_reassignments = incidents["reassignment_count"].mean()
    reassignment = min(mean_reassignments / (1 + mean_reassignments), MAX_REASSIGNMENT_PROBABILITY)
    closure = (incidents["closed_at"] - incidents["resolved_at"]) / HOUR
    dynamics = {
        "priority_mix": mix,
        "work_time": dict(sorted(work.items())),
        "sla_target_hours": targets,
        "reopen_probability": _sig(float(reopen_probability)),
        "reassignment_probability": _sig(float(reassignment)),
    }
    if closure.notna().any():
        dynamics["closure_delay_hours"] = _sig(max(float(closure.median()), 0.0))

    owner = _owners(log)
    per_service = arrivals["service_id"].value_counts()
    rates = per_service / years
    fits = pd.DataFrame(
        [
            {
                "priority": p,
                "share": mix.get(p, 0.0),
                "incidents": int(counts.get(p, 0)),
                "fitted": n,
                "median_hours": work[p]["median_hours"],
                "sigma": work[p]["sigma"],
                "sla_target_hours": targets.get(p, float("nan")),
                "work_time_from": origin,
            }
            for p, n, origin in rows
        ]
    )
    csat = _csat(incidents, base, notes)
    header = (
        f"Calibrated by lti calibrate from {source}: {len(incidents):,} incidents opened "
        f"{log.start:%Y-%m-%d} .. {log.end:%Y-%m-%d} ({years:.2f} years)."
    )
    if base is not None:
        scenario = _with_base(base, dynamics, rates, years, notes)
        scenario["name"] = name
        scenario["description"] = f"{header} Organisation from base scenario {base.name!r}."
    else:
        scenario = _from_log(log, incidents, dynamics, rates, owner, years, notes)
        scenario["name"] = name
        scenario["description"] = (
            f"{header} Organisation derived from the log with placeholders: "
            + "; ".join(n.removeprefix(PLACEHOLDER) for n in notes if n.startswith(PLACEHOLDER))
            + "."
        )
    environment = scenario["environment"]
    scenario["environment"] = {
        "incidents": environment.pop("incidents"),
        "csat": csat,
        **environment,
    }
    return Calibration(scenario, fits, notes)


def _csat(incidents: pd.DataFrame, base: Scenario | None, notes: list[str]) -> dict:
    """Fit the survey response rate and base score where the log has scores."""
    resolved = incidents.loc[incidents["resolved_at"].notna()]
    scored = resolved["csat"].notna()
    csat = base.environment.csat.model_dump() if base is not None else {"base_score": 4.0}
    if scored.any():
        good = scored & ~resolved["sla_breached"] & (resolved["reopen_count"] == 0)
        pool = resolved.loc[good if good.any() else scored, "csat"]
        csat["response_rate"] = _sig(float(scored.mean()))
        csat["base_score"] = _sig(min(max(float(pool.mean()), 1.0), 5.0))
    elif base is None:
        csat["response_rate"] = 0.0
        notes.append("placeholder: no CSAT in the log, surveys switched off (response_rate 0)")
    return csat


def _with_base(
    base: Scenario, dynamics: dict, rates: pd.Series, years: float, notes: list[str]
) -> dict:
    """Take the base scenario and refit its incident dynamics and matching services."""
    scenario = base.model_dump()
    cfg = base.environment.incidents
    scenario["environment"]["incidents"].update(dynamics)
    growth = cfg.age_effect_per_year * years
    average = (math.exp(growth) - 1) / growth if growth else 1.0
    matched = 0
    for service in scenario["organisation"]["services"]:
        if service["id"] not in rates.index:
            notes.append(f"service {service['id']}: no incidents in the log, complexity kept")
            continue
        if cfg.complexity_exponent == 0:
            notes.append("complexity_exponent is 0 in the base: complexities cannot be fitted")
            break
        start_rate = rates[service["id"]] / average
        level = (
            cfg.base_rate_per_service_per_year
            * math.exp(cfg.age_effect_per_year * service["platform_age_years"])
            * cfg.tier_multiplier.get(service["criticality"], 1.0)
        )
        complexity = (start_rate / level) ** (1 / cfg.complexity_exponent)
        if complexity > MAX_COMPLEXITY:
            notes.append(f"service {service['id']}: complexity {complexity:.3g} capped at 20")
        service["complexity"] = _sig(min(complexity, MAX_COMPLEXITY))
        matched += 1
    unknown = sorted(set(rates.index) - {s.id for s in base.organisation.services})
    notes.append(
        f"{matched} of {len(base.organisation.services)} base services refitted; "
        f"{len(unknown)} services of the log are not in the base and were left out"
    )
    return scenario


def _from_log(
    log: EventLog,
    incidents: pd.DataFrame,
    dynamics: dict,
    rates: pd.Series,
    owner: pd.Series,
    years: float,
    notes: list[str],
) -> dict:
    """Derive teams and services from the log; fill what it cannot tell with placeholders."""
    base_rate = max(float(rates.mean()), float(rates.max()) / MAX_COMPLEXITY)
    services = owner[owner.index.isin(rates.index)]
    dropped = len(owner) - len(services)
    if dropped:
        notes.append(f"{dropped} services without incidents in the window were left out")
    team_ids = _identifiers(sorted(set(services)))
    service_ids = _identifiers(sorted(services.index))
    capacity = _capacity(incidents, services, log)
    notes += [
        "placeholder: one business unit 'unknown'",
        "placeholder: one person per team (role placeholder, grade unknown, country ZZ, "
        "gender undisclosed, base salary 1)",
        "placeholder: service criticality 3, platform age 0, annual budget 0; complexity is "
        "the service's incident rate relative to the base rate",
        f"placeholder: team capacity is the {CAPACITY_QUANTILE:.0%} quantile of its incidents "
        "in progress, sampled hourly",
        "placeholder: no vendors, changes and attacks switched off; their incidents count as "
        "ordinary arrivals",
    ]
    teams = [
        {
            "id": team_ids[team],
            "name": team,
            "capacity": capacity[team],
            "people": [{"id": f"{team_ids[team]}-person", **PLACEHOLDER_PERSON}],
        }
        for team in sorted(team_ids)
    ]
    service_list = [
        {
            "id": service_ids[service],
            "name": service,
            "business_unit": "unknown",
            "owning_team": team_ids[services[service]],
            "criticality": 3,
            "complexity": _sig(float(rates[service]) / base_rate),
            "platform_age_years": 0.0,
            "annual_budget": 0.0,
        }
        for service in sorted(service_ids)
    ]
    return {
        "horizon": {
            "start": dt.date(log.start.year, log.start.month, log.start.day),
            "years": int(min(max(round(years), 1), 30)),
            "period": "quarter",
        },
        "seed": 1,
        "organisation": {
            "business_units": [{"id": "unknown", "name": "Unknown business unit"}],
            "services": service_list,
            "teams": teams,
            "vendors": [],
        },
        "environment": {
            "incidents": {
                "base_rate_per_service_per_year": _sig(base_rate),
                "complexity_exponent": 1.0,
                "age_effect_per_year": 0.0,
                "tier_multiplier": {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0},
                **dynamics,
            },
            "changes": dict(SWITCHED_OFF_CHANGES),
            "attacks": {"rate_per_year": 0.0, "mean_outage_hours": 1.0},
        },
    }


def write_scenario(calibration: Calibration, path: str | Path) -> Path:
    """Write the calibrated scenario as YAML, its notes as a comment at the top.

    Parameters
    ----------
    calibration : Calibration
        From :func:`calibrate`.
    path : str or Path
        The scenario file; its directory is created if missing.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    order = ["name", "description", "currency", "seed", "horizon", "organisation", "environment"]
    document = {k: calibration.scenario[k] for k in order if k in calibration.scenario}
    document |= {k: v for k, v in calibration.scenario.items() if k not in document}
    comment = "".join(f"#   - {note}\n" for note in calibration.notes)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(f"{WRITTEN_BY} Notes:\n{comment}{text}")
    return path
