"""Load incentive plans strictly: ``extends`` chains, deep merge, validation, KPI cross-checks.

A plan file may ``extends:`` another plan by name and give only what it changes: the parent is
loaded (recursively), the child is deep-merged over it (mappings merge key by key, lists and
scalars replace, so ``cap: null`` removes a parent's cap and a child's ``metrics`` list replaces
the parent's whole list) and the merged mapping is validated. ``name``, ``description`` and
``extends`` are never inherited. Problems name the file the offending key came from.

A parent is a bare plan name, looked up beside the child and then in the plan library, and
nowhere else: no path, no separator, no ``..``, and a file found there must really live in one of
those two directories (not be a link to somewhere else), so a plan cannot make the loader read an
arbitrary file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.config.errors import ConfigError, Problem
from toolkit.config.loading import problems_from_validation
from toolkit.config.plan import BracketCurve, Metric, Plan
from toolkit.config.scenario import PRIORITIES, Scenario
from toolkit.config.yaml_strict import read_yaml_mapping
from toolkit.metrics import CATALOGUE, KPI
from toolkit.resources import PLANS_DIR

OWN_KEYS = ("name", "description", "extends")
# Units of KPIs that count rows, so that summing them over periods (gates) and comparing them
# with an expected count (expected_volume) means something.
COUNT_UNITS = frozenset({"incidents", "changes"})
DEFECT_PENALISED = "change_throughput"  # the one KPI a defect penalty nets defects against
# KPIs of survey scores: with no survey responses they have nothing to measure.
SURVEY_KPIS = frozenset({"csat_mean", "csat_adjusted"})

# What ``extends`` may name: a plan, never a path.
PARENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")
EXTENDS_RULE = (
    "must name a plan (letters, digits, '_', '-', '.'), which is looked for beside this file "
    "and in the plan library only; paths are refused"
)

Origins = dict[str, Path]


def kpi_by_name() -> dict[str, KPI]:
    """Map every KPI name and per-priority variant to its catalogue entry."""
    return {name: kpi for kpi in CATALOGUE.values() for name in (kpi.name, *kpi.variants)}


def resolve_plan_path(name_or_path: str | Path, search_dir: str | Path = PLANS_DIR) -> Path:
    """Return the file a bare plan name (``search_dir/<name>.yaml``) or a path stands for.

    A :class:`~pathlib.Path`, or a string holding ``/`` or ending in ``.yaml`` or ``.yml``, is a
    path; any other string is a plan name. The file need not exist.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    return Path(search_dir) / f"{text}.yaml"


def _known_plans(directories: list[Path]) -> list[str]:
    return sorted({p.stem for d in directories if d.is_dir() for p in d.glob("*.yaml")})


def library_plans(search_dir: str | Path = PLANS_DIR) -> list[str]:
    """Return the names of the plans in the library, the ``no_incentive`` baseline first."""
    names = _known_plans([Path(search_dir)])
    return sorted(names, key=lambda name: (name != "no_incentive", name))


def _missing_plan(name: str, directories: list[Path]) -> str:
    """Explain that no plan file carries ``name``, suggesting the closest one."""
    where = " or ".join(str(d) for d in directories)
    close = difflib.get_close_matches(name, _known_plans(directories), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no plan named {name!r} in {where}{hint}"


def _origins(data: dict, source: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """Yield the key path of every mapping key in ``data`` with the file it comes from."""
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path, source
        if isinstance(value, dict):
            yield from _origins(value, source, path)


def deep_merge(base: dict, over: dict) -> dict:
    """Merge ``over`` onto ``base``: mappings key by key, anything else replaced by ``over``."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parent_file(path: Path, name: object, search_dir: Path) -> Path:
    """Find the plan ``extends: name`` stands for, beside ``path`` or in ``search_dir`` only."""
    if not isinstance(name, str) or not name:
        raise ConfigError(path, [Problem("extends", f"must be a plan name (got {name!r})")])
    if not PARENT_NAME.match(name):
        raise ConfigError(path, [Problem("extends", f"{EXTENDS_RULE} (got {name!r})")])
    if name.endswith((".yaml", ".yml")):
        stem = name.rsplit(".", 1)[0]
        reason = f"{EXTENDS_RULE}; give the name without its suffix ({stem!r}, not {name!r})"
        raise ConfigError(path, [Problem("extends", reason)])
    directories = list(dict.fromkeys([path.parent, search_dir]))
    for directory in directories:
        candidate = directory / f"{name}.yaml"
        if not candidate.is_file():
            continue
        if candidate.resolve().parent not in {d.resolve() for d in directories}:
            raise ConfigError(
                path,
                [
                    Problem(
                        "extends",
                        f"{candidate} leads to {candidate.resolve()}, outside this file's "
                        "directory and the plan library; a parent must live in one of them",
                    )
                ],
            )
        return candidate
    raise ConfigError(path, [Problem("extends", _missing_plan(name, directories))])


def _read_chain(path: Path, search_dir: Path, chain: tuple[Path, ...]) -> tuple[dict, Origins]:
    """Read ``path`` merged over its ``extends`` ancestors, with the origin of every key.

    ``chain`` holds the files that extend ``path``, the file being loaded first; a cycle is
    reported against that file, whichever link closes it.
    """
    data = read_yaml_mapping(path)
    origins = dict(_origins(data, path))
    if data.get("extends") is None:
        return data, origins
    parent = _parent_file(path, data["extends"], search_dir)
    chain = (*chain, path)
    if parent.resolve() in {p.resolve() for p in chain}:
        loop = " -> ".join(p.stem for p in (*chain, parent))
        raise ConfigError(
            chain[0], [Problem("extends", f"plans extend each other in a cycle: {loop}")]
        )
    base, base_origins = _read_chain(parent, search_dir, chain)
    base = {k: v for k, v in base.items() if k not in OWN_KEYS}
    base_origins = {k: v for k, v in base_origins.items() if k.split(".")[0] not in OWN_KEYS}
    return deep_merge(base, data), {**base_origins, **origins}


def _origin_of(path: str, origins: Origins, default: Path) -> Path:
    """Return the file that set the longest prefix of ``path`` (``default`` if none did)."""
    best, length = default, -1
    for key, source in origins.items():
        covers = path == key or path.startswith((f"{key}.", f"{key}["))
        if covers and len(key) > length:
            best, length = source, len(key)
    return best


def _refuse(problems: list[Problem], origins: Origins, source: Path) -> ConfigError:
    """Build one error naming the file each problem's key came from.

    When every problem comes from one file, that file is the error's source; otherwise the
    loaded file is, and problems from other files say where their key was set.
    """
    files = [_origin_of(p.path, origins, source) for p in problems]
    if len(set(files)) == 1:
        return ConfigError(files[0], problems)
    return ConfigError(
        source,
        [
            p if f == source else Problem(p.path, f"{p.reason} (set in {f})")
            for p, f in zip(problems, files, strict=True)
        ],
    )


def _kpi_problem(name: str, path: str, known: dict[str, KPI]) -> Problem | None:
    if name in known:
        return None
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return Problem(path, f"unknown KPI {name!r}{hint} (see `lti kpis --list`)")


def _curve_levels(metric: Metric) -> list[float]:
    curve = metric.curve
    if isinstance(curve, BracketCurve):
        return [b.level for b in curve.brackets]
    return [curve.threshold.level, curve.target.level, curve.maximum.level]


def _pays_for_higher(metric: Metric) -> bool:
    """Tell whether the curve pays more for higher levels (bracket or linear levels rising)."""
    curve = metric.curve
    if isinstance(curve, BracketCurve):
        return curve.direction == "higher"
    return curve.threshold.level < curve.maximum.level


def _curve_problems(metric: Metric, kpi: KPI, path: str) -> list[Problem]:
    """Check that a curve's levels are reachable and that it pays for the better direction."""
    problems = []
    levels = _curve_levels(metric)
    if metric.basis == "level" and metric.normalisation == "none":
        if kpi.unit == "share" and not all(0 <= v <= 1 for v in levels):
            problems.append(
                Problem(f"{path}.curve", f"{kpi.name} is a share, so its levels lie in 0..1")
            )
        elif not all(v >= 0 for v in levels):
            problems.append(
                Problem(f"{path}.curve", f"{kpi.name} is never negative (unit {kpi.unit})")
            )
    if metric.basis == "improvement" and kpi.direction == "lower" and max(levels) > 1:
        problems.append(
            Problem(
                f"{path}.curve",
                f"{kpi.name} can improve by at most 1 (100%, down to zero); level "
                f"{max(levels):g} is unreachable",
            )
        )
    if metric.basis == "improvement" and kpi.direction == "higher" and min(levels) < -1:
        problems.append(
            Problem(
                f"{path}.curve",
                f"{kpi.name} can fall by at most 1 (100%, down to zero), so its improvement is "
                f"never below -1; level {min(levels):g} is unreachable",
            )
        )
    better_is_higher = metric.basis == "improvement" or kpi.direction == "higher"
    if _pays_for_higher(metric) != better_is_higher:
        worse = "lower" if better_is_higher else "higher"
        subject = "improvement" if metric.basis == "improvement" else kpi.name
        problems.append(
            Problem(
                f"{path}.curve",
                f"the curve pays more for a {worse} {subject}, which is worse; reverse its levels",
            )
        )
    return problems


def _defect_penalty_problems(plan: Plan, metric: Metric, path: str) -> list[Problem]:
    """Check that a defect penalty nets defects against delivery, where it has a meaning."""
    if metric.defect_penalty is None:
        return []
    where = f"{path}.defect_penalty"
    if metric.kpi != DEFECT_PENALISED:
        return [
            Problem(
                where,
                f"a defect penalty takes changes off {DEFECT_PENALISED}; {metric.kpi} counts "
                "no changes",
            )
        ]
    problems = []
    if "change" in metric.exclude_root_causes:
        problems.append(
            Problem(
                where,
                "exclude_root_causes removes the change-caused incidents the penalty counts; "
                "drop 'change' from it",
            )
        )
    if plan.attribution != "owner":
        problems.append(
            Problem(
                where,
                f"a defect penalty works with attribution 'owner' only (the plan has "
                f"{plan.attribution!r})",
            )
        )
    return problems


def _metric_problems(plan: Plan, known: dict[str, KPI]) -> list[Problem]:
    problems = []
    seen: dict[tuple[str, frozenset[str]], int] = {}
    for i, metric in enumerate(plan.metrics):
        path = f"metrics[{i}]"
        unknown = _kpi_problem(metric.kpi, f"{path}.kpi", known)
        if unknown:
            problems.append(unknown)
            continue
        kpi = known[metric.kpi]
        key = (metric.kpi, frozenset(metric.exclude_root_causes))
        if key in seen:
            problems.append(
                Problem(
                    path,
                    f"repeats metrics[{seen[key]}] ({metric.kpi} with the same exclusions)",
                )
            )
        seen.setdefault(key, i)
        problems += _curve_problems(metric, kpi, path)
        if metric.normalisation == "expected_volume" and kpi.unit not in COUNT_UNITS:
            problems.append(
                Problem(
                    f"{path}.normalisation",
                    f"expected_volume needs a count KPI (unit {sorted(COUNT_UNITS)}); "
                    f"{metric.kpi} is in {kpi.unit}",
                )
            )
        if metric.normalisation == "service_baseline" and metric.basis != "improvement":
            problems.append(
                Problem(
                    f"{path}.normalisation",
                    "service_baseline compares services with their own baselines, so it needs "
                    "basis 'improvement'",
                )
            )
        problems += _defect_penalty_problems(plan, metric, path)
        if metric.normalisation != "none" and plan.attribution != "owner":
            problems.append(
                Problem(
                    f"{path}.normalisation",
                    f"normalisation {metric.normalisation!r} works with attribution 'owner' "
                    f"only (the plan has {plan.attribution!r})",
                )
            )
    return problems


def check_plan(plan: Plan) -> list[Problem]:
    """Cross-check a valid plan against the KPI catalogue and itself.

    Parameters
    ----------
    plan : Plan
        A validated plan.

    Returns
    -------
    list of Problem
        Unknown KPIs (with the closest name), counter-metrics zeroing a KPI the plan does not
        reward, repeated metrics, gates on KPIs that are not counts, curves whose levels the
        KPI cannot reach or that pay more for a worse value, normalisations that do not fit
        the KPI, basis or attribution, and defect penalties on a KPI other than
        change_throughput, under a sharing attribution or with change causes excluded.
    """
    known = kpi_by_name()
    problems = _metric_problems(plan, known)
    rewarded = {m.kpi for m in plan.metrics}
    for i, counter in enumerate(plan.counter_metrics):
        unknown = _kpi_problem(counter.kpi, f"counter_metrics[{i}].kpi", known)
        problems += [unknown] if unknown else []
        if counter.metric is not None and counter.metric not in rewarded:
            problems.append(
                Problem(
                    f"counter_metrics[{i}].metric",
                    f"{counter.metric!r} is not among the plan's metrics "
                    f"({', '.join(sorted(rewarded)) or 'none'})",
                )
            )
    for i, gate in enumerate(plan.gates):
        unknown = _kpi_problem(gate.kpi, f"gates[{i}].kpi", known)
        if unknown:
            problems.append(unknown)
        elif known[gate.kpi].unit not in COUNT_UNITS:
            problems.append(
                Problem(
                    f"gates[{i}].kpi",
                    f"a gate sums its KPI over the plan year, so it needs a count KPI; "
                    f"{gate.kpi} is in {known[gate.kpi].unit}",
                )
            )
    return problems


def load_plan(
    name_or_path: str | Path,
    search_dir: str | Path = PLANS_DIR,
    scenario: Scenario | None = None,
) -> Plan:
    """Load, merge, validate and cross-check an incentive plan.

    Parameters
    ----------
    name_or_path : str or Path
        A bare plan name (``"mttr_only"``, read from ``search_dir``) or a path to a YAML file.
    search_dir : str or Path
        Where bare names and ``extends`` parents are looked up; a parent is first looked for
        beside the file that extends it, and nowhere else.
    scenario : Scenario, optional
        The scenario the plan is to run on; when given, the plan is also refused for what
        :func:`check_plan_against_scenario` finds.

    Returns
    -------
    Plan
        The validated, immutable plan.

    Raises
    ------
    ConfigError
        With one line per problem, each naming the file the offending key came from, the key
        path and the reason: unreadable or invalid YAML, a missing parent, a parent named by a
        path or a cycle in ``extends``, unknown keys, wrong types, impossible values, and the
        cross-checks of :func:`check_plan` (and of :func:`check_plan_against_scenario`).

    Examples
    --------
    >>> plan = load_plan("balanced_guarded")  # doctest: +SKIP
    >>> plan.extends
    'balanced'
    """
    search_dir = Path(search_dir)
    path = resolve_plan_path(name_or_path, search_dir)
    if not path.exists() and path.parent == search_dir:
        raise ConfigError(path, [Problem("", _missing_plan(path.stem, [search_dir]))])
    data, origins = _read_chain(path, search_dir, ())
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise _refuse(problems_from_validation(exc, data), origins, path) from None
    problems = check_plan(plan)
    if not problems and scenario is not None:
        problems = check_plan_against_scenario(plan, scenario)
    if problems:
        raise _refuse(problems, origins, path)
    return plan


def _flatten_diff(base: Any, plan: Any, path: str, out: dict[str, tuple[Any, Any]]) -> None:
    if isinstance(base, dict) and isinstance(plan, dict):
        for key in [*base, *(k for k in plan if k not in base)]:
            sub = f"{path}.{key}" if path else str(key)
            _flatten_diff(base.get(key), plan.get(key), sub, out)
    elif isinstance(base, list) and isinstance(plan, list) and len(base) == len(plan):
        for i, (b, p) in enumerate(zip(base, plan, strict=True)):
            _flatten_diff(b, p, f"{path}[{i}]", out)
    elif base != plan:
        out[path] = (base, plan)


def plan_diff(plan: Plan, base: Plan) -> dict[str, tuple[Any, Any]]:
    """List what ``plan`` changes relative to ``base``: a reform as a diff over a baseline.

    Parameters
    ----------
    plan, base : Plan
        The reform and the plan it is compared with.

    Returns
    -------
    dict
        Dotted key paths (``metrics[0].weight``, ``cap.pct_of_personnel_cost``) mapped to
        ``(base value, plan value)`` in JSON form, in the order of the base's fields. Lists of
        equal length are compared item by item, others as a whole; a section one plan lacks
        shows as ``None`` on that side.
    """
    out: dict[str, tuple[Any, Any]] = {}
    _flatten_diff(base.model_dump(mode="json"), plan.model_dump(mode="json"), "", out)
    return out


# -- a plan against the scenario it runs on ---------------------------------------------------

PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
ROOT_CAUSES = ("internal", "change", "vendor", "external", "unknown")
_PRIORITY_SUFFIX = re.compile(r"_p([1-4])$")


def _has_outages(scenario: Scenario, vendor_ids: list[str]) -> bool:
    vendors = {v.id: v for v in scenario.organisation.vendors}
    return any(
        rate > 0
        for vendor_id in vendor_ids
        for rate in (
            vendors[vendor_id].outage_rate_per_year,
            *(s.outage_rate_per_year for s in vendors[vendor_id].subcontractors),
        )
    )


def _changes_can_fail(scenario: Scenario) -> bool:
    failures = scenario.environment.changes.failure_probability.model_dump().values()
    return any(p > 0 for p in failures)


def _reported_priorities(scenario: Scenario) -> set[int]:
    """Priorities a reported incident can have: any at or below the most urgent true one.

    The world opens incidents at the priorities of ``priority_mix``, at the attack priority and
    at the criticality of services hit by vendor outages; the record can downgrade any of them
    step by step and pads tickets at the lowest priority.
    """
    env = scenario.environment
    true = {p for p, share in env.incidents.priority_mix.items() if share > 0}
    if env.attacks.rate_per_year > 0:
        true.add(env.attacks.priority)
    true |= {
        s.criticality
        for s in scenario.organisation.services
        if _has_outages(scenario, s.vendor_dependencies)
    }
    return {p for p in PRIORITIES if p >= min(true)}


def _root_causes(scenario: Scenario) -> set[str]:
    """Root causes a reported incident can carry on this scenario.

    Internal incidents always occur; failed changes cause ``change`` incidents; vendor and
    external causes come from outages and attacks, and from the record blaming internal causes
    on a vendor a service depends on (``vendor``) or, without one, on outsiders (``external``).
    """
    env, services = scenario.environment, scenario.organisation.services
    causes = {"internal"}
    if env.changes.rate_per_service_per_year > 0 and _changes_can_fail(scenario):
        causes.add("change")
    if any(s.vendor_dependencies for s in services):
        causes.add("vendor")
    if env.attacks.rate_per_year > 0 or any(not s.vendor_dependencies for s in services):
        causes.add("external")
    return causes


def _unmeasurable(kpi_name: str, kpi: KPI, scenario: Scenario) -> str | None:
    """Say why ``kpi_name`` has nothing to measure on ``scenario`` in any period, if so."""
    env = scenario.environment
    if kpi.table == "changes" and env.changes.rate_per_service_per_year == 0:
        return "the scenario makes no changes (environment.changes.rate_per_service_per_year is 0)"
    if kpi.name in SURVEY_KPIS and env.csat.response_rate == 0:
        return "the scenario has no surveys (environment.csat.response_rate is 0)"
    suffix = _PRIORITY_SUFFIX.search(kpi_name) if kpi_name != kpi.name else None
    if suffix and int(suffix.group(1)) not in _reported_priorities(scenario):
        possible = sorted(_reported_priorities(scenario))
        return f"no incident can be recorded at priority {suffix.group(1)} (only {possible})"
    return None


def _constant(metric: Metric, kpi: KPI, scenario: Scenario) -> str | None:
    """Say why a rewarded share takes the same value in every period of ``scenario``, if so."""
    env, services = scenario.environment, scenario.organisation.services
    if kpi.name == "change_success_rate" and not _changes_can_fail(scenario):
        return "no change can fail (every failure_probability is 0), so it is always 1"
    if kpi.name == "availability":
        excluded = set(metric.exclude_root_causes)
        outages = "vendor" not in excluded and any(
            _has_outages(scenario, s.vendor_dependencies) for s in services
        )
        attacks = "external" not in excluded and env.attacks.rate_per_year > 0
        majors = env.incidents.priority_mix.get(1, 0) > 0
        if not (outages or attacks or majors):
            return (
                "nothing takes a service down (no vendor outages, attacks or priority-1 "
                "incidents), so it is always 1"
            )
    return None


def _kpi_against_scenario(name: str, path: str, scenario: Scenario) -> list[Problem]:
    known = kpi_by_name()
    why = _unmeasurable(name, known[name], scenario) if name in known else None
    if why is None:
        return []
    return [Problem(path, f"{name} can never be measured on scenario {scenario.name!r}: {why}")]


def _grade_problems(plan: Plan, scenario: Scenario) -> list[Problem]:
    """Compare the plan's target grades with the grades the scenario's people have."""
    people = [p for team in scenario.organisation.teams for p in team.people]
    grades = sorted({p.grade for p in people})
    table = plan.target_award_pct
    if not table:
        return []
    problems = []
    if not set(table) & set(grades):
        problems.append(
            Problem(
                "target_award_pct",
                f"none of its grades ({', '.join(table)}) is a grade of scenario "
                f"{scenario.name!r} ({', '.join(grades)}), so everyone would get "
                f"default_target_award_pct ({plan.default_target_award_pct:g}%)",
            )
        )
        return problems
    folded = {g.casefold().replace(" ", ""): g for g in grades if g not in table}
    for grade in table:
        close = folded.get(grade.casefold().replace(" ", ""))
        if grade not in grades and close:
            problems.append(
                Problem(
                    f"target_award_pct.{grade}",
                    f"no one in scenario {scenario.name!r} has grade {grade!r}; did you mean "
                    f"{close!r}? People of grade {close!r} would get default_target_award_pct",
                )
            )
    uncovered = sorted({g for g in grades if g not in table})
    if uncovered and "default_target_award_pct" not in plan.model_fields_set:
        problems.append(
            Problem(
                "default_target_award_pct",
                f"grades {uncovered} of scenario {scenario.name!r} have no target_award_pct "
                "entry and the plan sets no default_target_award_pct, so they would silently "
                "get 0%; give them an entry or set the default (0 to exclude them)",
            )
        )
    return problems


def _feed_problems(scenario: Scenario, known: dict[str, KPI]) -> list[Problem]:
    """Find the scenario's data feeds naming a KPI the catalogue does not know."""
    problems = []
    for i, feed in enumerate(scenario.data_feeds):
        for j, name in enumerate(feed.kpis):
            where = f"(scenario {scenario.name!r}) data_feeds[{i}].kpis[{j}]"
            unknown = _kpi_problem(name, where, known)
            problems += [unknown] if unknown else []
    return problems


def check_plan_against_scenario(plan: Plan, scenario: Scenario) -> list[Problem]:
    """Find what a valid plan cannot do on a valid scenario: what validates but means nothing.

    Parameters
    ----------
    plan : Plan
        A plan that passed :func:`load_plan`.
    scenario : Scenario
        A scenario that passed :func:`toolkit.config.load_scenario`.

    Returns
    -------
    list of Problem
        Key paths into the plan: a plan that never starts within the horizon; KPIs of the
        scenario's data feeds the catalogue does not know (path into the scenario); target grades
        that match no one (or look like a misspelt grade), grades left to a default the plan
        never set; rewarded, watched or gated KPIs the scenario can never measure (change KPIs
        without changes, surveys without responses, priorities no incident can have); metrics
        that keep only root causes the scenario never produces; rewarded shares that are the
        same in every period; improvements of a share whose threshold a team can never reach
        from its baseline on the scenario (:func:`toolkit.plans.reach.unreachable_thresholds`,
        which simulates the scenario's pre-plan periods); and funding from service budgets that
        are all zero.
    """
    horizon = scenario.horizon
    periods = horizon.years * PERIODS_PER_YEAR[horizon.period]
    problems: list[Problem] = []
    if plan.start_after_periods >= periods:
        problems.append(
            Problem(
                "start_after_periods",
                f"the plan starts after {plan.start_after_periods} periods, but scenario "
                f"{scenario.name!r} has {periods} ({horizon.years} years in {horizon.period}s)",
            )
        )
    problems += _grade_problems(plan, scenario)
    known = kpi_by_name()
    problems += _feed_problems(scenario, known)
    causes = _root_causes(scenario)
    flagged: set[int] = set()  # metrics with nothing to measure or always the same
    for i, metric in enumerate(plan.metrics):
        path = f"metrics[{i}]"
        unmeasurable = _kpi_against_scenario(metric.kpi, f"{path}.kpi", scenario)
        problems += unmeasurable
        kpi = known[metric.kpi]
        kept = set(ROOT_CAUSES) - set(metric.exclude_root_causes)
        if kpi.table == "incidents" and not kept & causes:
            problems.append(
                Problem(
                    f"{path}.exclude_root_causes",
                    f"keeps only incidents caused by {sorted(kept)}, which scenario "
                    f"{scenario.name!r} never produces (it produces {sorted(causes)})",
                )
            )
        constant = None if unmeasurable else _constant(metric, kpi, scenario)
        if unmeasurable or constant:
            flagged.add(i)
        if constant:
            problems.append(
                Problem(
                    f"{path}.kpi",
                    f"{metric.kpi} is the same in every period of scenario {scenario.name!r}, "
                    f"so the metric always pays the same: {constant}",
                )
            )
    # Scoring needs this module, so the scenario's own baselines are read through a late import.
    from toolkit.plans.reach import unreachable_thresholds

    problems += [
        p
        for p in unreachable_thresholds(plan, scenario)
        if not any(p.path.startswith(f"metrics[{i}].") for i in flagged)
    ]
    for i, counter in enumerate(plan.counter_metrics):
        problems += _kpi_against_scenario(counter.kpi, f"counter_metrics[{i}].kpi", scenario)
    for i, gate in enumerate(plan.gates):
        problems += _kpi_against_scenario(gate.kpi, f"gates[{i}].kpi", scenario)
    funding = plan.funding
    budgets = [s.annual_budget for s in scenario.organisation.services]
    if funding is not None and funding.basis == "service_budget" and not any(budgets):
        problems.append(
            Problem(
                "funding.basis",
                f"the pool is a share of service budgets, but every annual_budget of "
                f"scenario {scenario.name!r} is 0, so nothing would ever be paid",
            )
        )
    return problems
