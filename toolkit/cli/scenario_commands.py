"""``lti validate`` and ``lti simulate``: check scenarios and plans strictly, run them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from toolkit.cli.common import EXIT_USER_ERROR, scenario_argument, seed
from toolkit.config import ConfigError, Scenario, load_scenario
from toolkit.config.loading import document_kind
from toolkit.config.yaml_strict import read_yaml_mapping


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _describe_scenario(scenario: Scenario) -> str:
    org = scenario.organisation
    return (
        f"scenario {scenario.name!r}: {_count(len(org.teams), 'team')}, "
        f"{_count(len(org.services), 'service')}, {_count(len(org.vendors), 'vendor')}, "
        f"{_count(scenario.horizon.years, 'year')} in {scenario.horizon.period}s"
    )


def _check_file(path: str, against: Scenario | None) -> str:
    """Validate one file as what its content says it is; return what it was found to be."""
    from toolkit.plans import load_plan

    kind = document_kind(read_yaml_mapping(path), path)
    if kind == "scenario":
        return _describe_scenario(load_scenario(path))
    plan = load_plan(Path(path), scenario=against)
    parts = [
        _count(len(plan.metrics), "metric"),
        _count(len(plan.counter_metrics), "counter-metric"),
        _count(len(plan.gates), "gate"),
    ]
    if plan.extends:
        parts.append(f"extends {plan.extends!r}")
    fits = f"; fits scenario {against.name!r}" if against is not None else ""
    return f"plan {plan.name!r}: {', '.join(parts)}{fits}"


def _validate(args: argparse.Namespace) -> int:
    against = load_scenario(args.scenario) if args.scenario else None
    failed = 0
    for path in args.files:
        try:
            found = _check_file(path, against)
        except ConfigError as exc:
            failed += 1
            print(str(exc), file=sys.stderr)
            continue
        print(f"{path}: ok ({found})")
    return EXIT_USER_ERROR if failed else 0


def _number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:,.3f}".rstrip("0").rstrip(".")


def format_summary(table: pd.DataFrame) -> str:
    """Render a KPI summary (``kpi``, value columns, ``unit``, ``direction``) for the terminal."""
    shown = table.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = [_number(v) for v in shown[column]]
    shown["better"] = shown.pop("direction")
    return shown.to_string(index=False)


def _figure(value: float, spec: str, unit: str = "") -> str:
    """Format a headline figure, or say it is undefined (the reason is in summary.json)."""
    return "undefined" if pd.isna(value) else f"{value:{spec}}{unit}"


def _simulate(args: argparse.Namespace) -> int:
    from toolkit.metrics import summary
    from toolkit.run import run_scenario

    result = run_scenario(
        args.scenario,
        args.seed,
        args.out,
        plan=args.plan,
        progress=sys.stderr.isatty(),
        force=args.force,
    )
    truth, reported, headline = result.truth, result.reported, result.summary
    print(
        f"Simulated {result.scenario.name!r} under plan {headline['plan']!r} with seed "
        f"{result.seed}: {len(truth.incidents):,} incidents, {len(truth.changes):,} changes, "
        f"{len(truth.outages):,} outage records in {result.wall_time_seconds:.2f} s"
    )
    both = summary(truth).rename(columns={"value": "true"})
    both.insert(2, "reported", summary(reported)["value"].to_numpy())
    print(f"Whole-horizon KPIs, organisation-wide:\n{format_summary(both)}")
    currency = f" {headline['currency']}"
    print(
        f"gaming index {_figure(headline['gaming_index'], '.1f', ' pp')}, risk-aversion index "
        f"{_figure(headline['risk_aversion_index'], '.2f')}, true health "
        f"{_figure(headline['true_health'], '.1f')}, awards "
        f"{_figure(headline['total_awards'], ',.0f', currency)}, business loss "
        f"{_figure(headline['business_loss'], ',.0f', currency)}, delivery value "
        f"{_figure(headline['delivery_value'], ',.0f', currency)}"
    )
    for name, reason in headline["undefined"].items():
        print(f"  {name} undefined: {reason}")
    print(f"Results in {result.directory}/ (truth/, reported/, kpis, awards, behaviour, summary)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``validate`` and ``simulate`` to the ``lti`` parser."""
    validate = commands.add_parser(
        "validate", help="check scenario and plan files strictly, as a run would"
    )
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="scenario or plan YAML files (told by content)"
    )
    validate.add_argument(
        "--scenario",
        metavar="SCENARIO",
        type=scenario_argument,
        default=None,
        help="also check every plan against this scenario (a file or a shipped scenario's "
        "name), as a run on it would",
    )
    validate.set_defaults(handler=_validate)

    simulate = commands.add_parser("simulate", help="simulate a scenario, write logs and KPIs")
    simulate.add_argument(
        "scenario",
        type=scenario_argument,
        metavar="SCENARIO",
        help="scenario YAML file or the name of a shipped scenario (e.g. small)",
    )
    simulate.add_argument(
        "--seed",
        type=seed,
        default=None,
        help="random seed, a whole number >= 0 (default: the scenario's)",
    )
    simulate.add_argument(
        "--plan",
        default=None,
        metavar="PLAN",
        help="plan name in scenarios/plans or a plan file (default: no_incentive)",
    )
    simulate.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output directory: new, empty or holding this same run (else refused)",
    )
    simulate.add_argument(
        "--force",
        action="store_true",
        help="replace DIR even if it holds another result or other files",
    )
    simulate.set_defaults(handler=_simulate)
