"""Load incentive plans strictly: ``extends`` chains, deep merge, validation, KPI cross-checks.

A plan file may ``extends:`` another plan by name and give only what it changes: the parent is
loaded (recursively), the child is deep-merged over it (mappings merge key by key, lists and
scalars replace, so ``cap: null`` removes a parent's cap and a child's ``metrics`` list replaces
the parent's whole list) and the merged mapping is validated. ``name``, ``description`` and
``extends`` are never inherited. Problems name the file the offending key came from.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.config.errors import ConfigError, Problem
from toolkit.config.loading import problems_from_validation
from toolkit.config.plan import BracketCurve, Metric, Plan
from toolkit.config.yaml_strict import read_yaml_mapping
from toolkit.metrics import CATALOGUE, KPI
from toolkit.resources import PLANS_DIR

OWN_KEYS = ("name", "description", "extends")
# Units of KPIs that count rows, so that summing them over periods (gates) and comparing them
# with an expected count (expected_volume) means something.
COUNT_UNITS = frozenset({"incidents", "changes"})

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


def _read_chain(path: Path, search_dir: Path, chain: tuple[Path, ...]) -> tuple[dict, Origins]:
    """Read ``path`` merged over its ``extends`` ancestors, with the origin of every key."""
    data = read_yaml_mapping(path)
    origins = dict(_origins(data, path))
    parent_name = data.get("extends")
    if parent_name is None:
        return data, origins
    if not isinstance(parent_name, str) or not parent_name:
        raise ConfigError(path, [Problem("extends", f"must be a plan name (got {parent_name!r})")])
    directories = list(dict.fromkeys([path.parent, search_dir]))
    candidates = [d / f"{parent_name}.yaml" for d in directories]
    parent = next((c for c in candidates if c.is_file()), None)
    if parent is None:
        raise ConfigError(path, [Problem("extends", _missing_plan(parent_name, directories))])
    here = path.resolve()
    if parent.resolve() in (*chain, here):
        loop = " -> ".join(p.stem for p in (*chain, here, parent.resolve()))
        raise ConfigError(path, [Problem("extends", f"plans extend each other in a cycle: {loop}")])
    base, base_origins = _read_chain(parent, search_dir, (*chain, here))
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
        KPI cannot reach or that pay more for a worse value, and normalisations that do not fit
        the KPI, basis or attribution.
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


def load_plan(name_or_path: str | Path, search_dir: str | Path = PLANS_DIR) -> Plan:
    """Load, merge, validate and cross-check an incentive plan.

    Parameters
    ----------
    name_or_path : str or Path
        A bare plan name (``"mttr_only"``, read from ``search_dir``) or a path to a YAML file.
    search_dir : str or Path
        Where bare names and ``extends`` parents are looked up; a parent is first looked for
        beside the file that extends it.

    Returns
    -------
    Plan
        The validated, immutable plan.

    Raises
    ------
    ConfigError
        With one line per problem, each naming the file the offending key came from, the key
        path and the reason: unreadable or invalid YAML, a missing parent or a cycle in
        ``extends``, unknown keys, wrong types, impossible values, and the cross-checks of
        :func:`check_plan`.

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
