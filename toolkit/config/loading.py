"""Strict loading: YAML → pydantic model → cross-reference checks, one error type."""

from __future__ import annotations

import datetime as dt
import difflib
import math
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from toolkit.config.errors import ConfigError, Problem
from toolkit.config.plan import Plan
from toolkit.config.scenario import PRIORITIES, Scenario
from toolkit.config.yaml_strict import read_yaml_mapping

M = TypeVar("M", bound=BaseModel)
# Incidents and changes a scenario may expect over its horizon: beyond this a run would take
# hours and fill the memory rather than fail.
MAX_EXPECTED_EVENTS = 1_000_000


def _key_path(loc: tuple, data: Any) -> str:
    """Render a pydantic location against the input, so list indexes read ``[i]``.

    Walking the input tells list indexes from integer mapping keys (priorities) and drops
    the tags pydantic inserts for discriminated unions, which are not keys in the file.
    """
    parts: list[str] = []
    node = data
    for item in loc:
        if item == "[key]":  # pydantic's marker for a refused mapping key: the key ends the path
            continue
        if isinstance(node, list) and isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if item < len(node) else None
            continue
        if isinstance(node, dict) and item not in node and item in node.values():
            continue  # the tag of a discriminated union, e.g. 'lognormal'
        parts.append(f".{item}" if parts else str(item))
        node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


PATTERN_WORDS = {
    r"^[A-Z]{2}$": "must be a two-letter country code in capitals (ISO 3166-1, e.g. DE)",
    r"^[A-Z]{3}$": "must be a three-letter currency code in capitals (ISO 4217, e.g. EUR)",
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$": "must be an identifier: a letter or digit, then letters, "
    "digits, '_', '.' or '-'",
}


def _describe(error: dict) -> str:
    kind = error["type"]
    if kind in ("missing", "union_tag_not_found"):
        return "required key is missing"
    ctx = error.get("ctx", {})
    if kind == "union_tag_invalid":
        field = ctx["discriminator"].strip("'")
        return f"unknown {field} {ctx['tag']!r}; expected one of {ctx['expected_tags']}"
    if kind in ("dict_type", "model_type"):
        return f"must be a mapping of keys (got a {type(error.get('input')).__name__})"
    message = error["msg"]
    if kind.startswith("date_"):
        message = "must be a valid date written as YYYY-MM-DD"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_WORDS:
        message = PATTERN_WORDS[ctx["pattern"]]
    if kind.startswith("value_error"):
        message = message.removeprefix("Value error, ")
    given = error.get("input")
    if isinstance(given, dt.date):
        message += f" (got {given.isoformat()})"
    elif not isinstance(given, dict | list):
        message += f" (got {given!r})"
    return message


def problems_from_validation(error: ValidationError, data: Any) -> list[Problem]:
    """Turn pydantic errors into problems with readable key paths."""
    problems = []
    for item in error.errors():
        path = _key_path(item["loc"], data)
        if item["type"] == "unknown_key":
            ctx = item["ctx"]
            for key in ctx["keys"]:
                reason = f"unknown key{ctx['hints'][key]} Known keys: {ctx['known']}"
                problems.append(Problem(f"{path}.{key}" if path else key, reason))
            continue
        if item["type"].startswith("union_tag"):
            key = item["ctx"]["discriminator"].strip("'")
            path = f"{path}.{key}" if path else key
        problems.append(Problem(path, _describe(item)))
    return problems


def _repeats(entries: list[tuple[str, str]], what: str) -> list[Problem]:
    """Report each (path, id) whose id was already used earlier in the list."""
    seen: set[str] = set()
    problems = []
    for path, ident in entries:
        if ident in seen:
            problems.append(Problem(path, f"{what} id {ident!r} is used more than once"))
        seen.add(ident)
    return problems


def _ids(items: list, where: str) -> list[tuple[str, str]]:
    return [(f"{where}[{i}].id", item.id) for i, item in enumerate(items)]


def _gain_share_scope(scenario: Scenario) -> list[Problem]:
    """Find gain-share scopes naming a service that does not depend on their vendor."""
    org = scenario.organisation
    problems = []
    for i, vendor in enumerate(org.vendors):
        if vendor.contract is None or vendor.contract.gain_share is None:
            continue
        dependents = {s.id for s in org.services if vendor.id in s.vendor_dependencies}
        for j, service in enumerate(vendor.contract.gain_share.services):
            if service not in dependents:
                problems.append(
                    Problem(
                        f"organisation.vendors[{i}].contract.gain_share.services[{j}]",
                        f"service {service!r} does not depend on vendor {vendor.id!r}, so its "
                        "savings cannot be the vendor's",
                    )
                )
    return problems


def check_scenario_references(scenario: Scenario) -> list[Problem]:
    """Find dangling references, duplicate ids and per-priority gaps in a valid scenario."""
    org = scenario.organisation
    problems: list[Problem] = []
    problems += _repeats(_ids(org.business_units, "organisation.business_units"), "business unit")
    problems += _repeats(_ids(org.teams, "organisation.teams"), "team")
    problems += _repeats(_ids(org.services, "organisation.services"), "service")
    problems += _repeats(_ids(org.vendors, "organisation.vendors"), "vendor")
    problems += _repeats(_ids(scenario.data_feeds, "data_feeds"), "data feed")
    people = [
        entry
        for t, team in enumerate(org.teams)
        for entry in _ids(team.people, f"organisation.teams[{t}].people")
    ]
    problems += _repeats(people, "person")
    teams = {t.id for t in org.teams}
    units = {u.id for u in org.business_units}
    vendors = {v.id for v in org.vendors}
    for i, feed in enumerate(scenario.data_feeds):
        if feed.supplier is not None and feed.supplier.vendor not in vendors:
            problems.append(
                Problem(
                    f"data_feeds[{i}].supplier.vendor", f"no vendor has id {feed.supplier.vendor!r}"
                )
            )
    for i, service in enumerate(org.services):
        where = f"organisation.services[{i}]"
        if service.owning_team not in teams:
            problems.append(
                Problem(f"{where}.owning_team", f"no team has id {service.owning_team!r}")
            )
        if service.business_unit not in units:
            problems.append(
                Problem(
                    f"{where}.business_unit", f"no business unit has id {service.business_unit!r}"
                )
            )
        for j, team in enumerate(service.supporting_teams):
            if team not in teams:
                problems.append(
                    Problem(f"{where}.supporting_teams[{j}]", f"no team has id {team!r}")
                )
            elif team == service.owning_team:
                problems.append(
                    Problem(f"{where}.supporting_teams[{j}]", "the owning team cannot also support")
                )
        for j, vendor in enumerate(service.vendor_dependencies):
            if vendor not in vendors:
                problems.append(
                    Problem(f"{where}.vendor_dependencies[{j}]", f"no vendor has id {vendor!r}")
                )
    problems += _gain_share_scope(scenario)
    for unit in scenario.environment.csat.business_unit_effect:
        if unit not in units:
            problems.append(
                Problem(
                    f"environment.csat.business_unit_effect.{unit}",
                    f"no business unit has id {unit!r}",
                )
            )
    incidents = scenario.environment.incidents
    missing = [p for p in PRIORITIES if p not in incidents.sla_target_hours]
    if missing:
        problems.append(
            Problem(
                "environment.incidents.sla_target_hours",
                f"no entry for priorities {missing}; every priority 1..4 needs a target, since "
                "the record can move an incident to any priority (downgrades, padded tickets)",
            )
        )
    for priority, share in sorted(incidents.priority_mix.items()):
        if share > 0 and priority not in incidents.work_time:
            problems.append(
                Problem(
                    "environment.incidents.work_time",
                    f"no entry for priority {priority}, which priority_mix gives a share of "
                    f"{share:g}",
                )
            )
    used = {}  # priorities that outages open incidents at, and why
    if scenario.environment.attacks.rate_per_year > 0:
        used.setdefault(scenario.environment.attacks.priority, "external attacks use it")
    for i, service in enumerate(org.services):
        if service.vendor_dependencies:
            used.setdefault(
                service.criticality,
                f"vendor outages on organisation.services[{i}] ({service.id}, criticality "
                f"{service.criticality}) open incidents at it",
            )
    for priority, why in sorted(used.items()):
        if priority not in incidents.work_time:
            problems.append(
                Problem(
                    "environment.incidents.work_time", f"no entry for priority {priority}; {why}"
                )
            )
    return problems


def expected_events(scenario: Scenario) -> dict[str, float]:
    """Return the incidents and changes a scenario expects over its horizon, before any plan.

    Incidents grow with platform age (``exp(age_effect_per_year x age)``), so each service's
    rate is integrated over the horizon; outages open one incident per dependent service.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    dict
        ``incidents`` and ``changes``: expected counts over the whole horizon.
    """
    org, env, years = scenario.organisation, scenario.environment, scenario.horizon.years
    cfg = env.incidents
    growth = cfg.age_effect_per_year
    ageing = years if growth == 0 else math.expm1(growth * years) / growth
    incidents = env.attacks.rate_per_year * years
    vendors = {v.id: v for v in org.vendors}
    for service in org.services:
        incidents += (
            cfg.base_rate_per_service_per_year
            * service.complexity**cfg.complexity_exponent
            * math.exp(growth * service.platform_age_years)
            * cfg.tier_multiplier.get(service.criticality, 1.0)
            * ageing
        )
        for vendor_id in service.vendor_dependencies:
            vendor = vendors[vendor_id]
            rates = [
                vendor.outage_rate_per_year,
                *(s.outage_rate_per_year for s in vendor.subcontractors),
            ]
            incidents += sum(rates) * years
    changes = env.changes.rate_per_service_per_year * len(org.services) * years
    return {"incidents": incidents, "changes": changes}


def check_scenario_volume(scenario: Scenario) -> list[Problem]:
    """Refuse a scenario that expects more events than a run can simulate in reasonable time.

    Parameters
    ----------
    scenario : Scenario
        A scenario whose references are valid.

    Returns
    -------
    list of Problem
        One per kind of event (incidents, changes) expected more than
        :data:`MAX_EXPECTED_EVENTS` times over the horizon.
    """
    where = {
        "incidents": "environment.incidents.base_rate_per_service_per_year",
        "changes": "environment.changes.rate_per_service_per_year",
    }
    return [
        Problem(
            where[kind],
            f"the scenario expects about {count:,.0f} {kind} over its horizon, more than the "
            f"{MAX_EXPECTED_EVENTS:,} a run may simulate",
        )
        for kind, count in expected_events(scenario).items()
        if count > MAX_EXPECTED_EVENTS
    ]


def validate_mapping(model: type[M], data: dict, source: str | Path) -> M:
    """Validate parsed data against a model, raising :class:`ConfigError` on any problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_from_validation(exc, data)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A scenario YAML file.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ConfigError
        With one line per problem, each naming the file, the key path and the reason.

    Examples
    --------
    >>> scenario = load_scenario("scenarios/small.yaml")  # doctest: +SKIP
    >>> scenario.horizon.period
    'quarter'
    """
    data = read_yaml_mapping(path)
    scenario = validate_mapping(Scenario, data, path)
    problems = check_scenario_references(scenario) or check_scenario_volume(scenario)
    if problems:
        raise ConfigError(path, problems)
    return scenario


SHARED_KEYS = ("name", "description")
SCENARIO_KEYS = tuple(k for k in Scenario.model_fields if k not in SHARED_KEYS)
PLAN_KEYS = tuple(k for k in Plan.model_fields if k not in SHARED_KEYS)


def document_kind(data: dict, source: str | Path) -> str:
    """Tell a scenario from a plan by its top-level keys, whatever the file is called.

    Parameters
    ----------
    data : dict
        The parsed file (see :func:`toolkit.config.yaml_strict.read_yaml_mapping`).
    source : str or Path
        The file, for the message.

    Returns
    -------
    str
        ``"scenario"`` or ``"plan"``.

    Raises
    ------
    ConfigError
        If the file has keys of both kinds, or of neither (with the closest known key for
        each unknown one).
    """
    keys = [str(k) for k in data]
    scenario = [k for k in keys if k in SCENARIO_KEYS]
    plan = [k for k in keys if k in PLAN_KEYS]
    if scenario and not plan:
        return "scenario"
    if plan and not scenario:
        return "plan"
    if scenario and plan:
        reason = (
            f"mixes scenario keys ({', '.join(scenario)}) with plan keys ({', '.join(plan)}); "
            "a file is either a scenario or a plan"
        )
        raise ConfigError(source, [Problem("", reason)])
    hints = []
    for key in keys:
        close = difflib.get_close_matches(key, [*SCENARIO_KEYS, *PLAN_KEYS], n=1, cutoff=0.6)
        if key not in SHARED_KEYS and close:
            hints.append(f"{key!r} might be {close[0]!r}")
    hint = f" ({'; '.join(hints)})" if hints else ""
    reason = (
        "neither a scenario nor a plan: a scenario has horizon, organisation and environment, "
        "a plan has keys such as metrics, target_award_pct or extends; this file has "
        f"{', '.join(keys)}{hint}"
    )
    raise ConfigError(source, [Problem("", reason)])
