"""``lti validate`` and ``lti simulate``: check scenarios strictly, run them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from toolkit.cli.common import EXIT_USER_ERROR, scenario_argument
from toolkit.config import ConfigError, load_scenario


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            scenario = load_scenario(path)
        except ConfigError as exc:
            failed += 1
            print(str(exc), file=sys.stderr)
            continue
        org = scenario.organisation
        print(
            f"{path}: ok (scenario {scenario.name!r}: {_count(len(org.teams), 'team')}, "
            f"{_count(len(org.services), 'service')}, {_count(len(org.vendors), 'vendor')}, "
            f"{_count(scenario.horizon.years, 'year')} in {scenario.horizon.period}s)"
        )
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


def _simulate(args: argparse.Namespace) -> int:
    from toolkit.metrics import summary
    from toolkit.run import run_scenario

    result = run_scenario(
        args.scenario, args.seed, args.out, plan=args.plan, progress=sys.stderr.isatty()
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
    currency = headline["currency"]
    print(
        f"gaming index {headline['gaming_index']:.1f} pp, risk-aversion index "
        f"{headline['risk_aversion_index']:.2f}, true health {headline['true_health']:.1f}, "
        f"awards {headline['total_awards']:,.0f} {currency}, "
        f"cost per health point {headline['cost_per_health']:,.0f} {currency}"
    )
    print(f"Results in {Path(args.out)}/ (truth/, reported/, kpis, awards, behaviour, summary)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``validate`` and ``simulate`` to the ``lti`` parser."""
    validate = commands.add_parser("validate", help="check scenario files strictly")
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    validate.set_defaults(handler=_validate)

    simulate = commands.add_parser("simulate", help="simulate a scenario, write logs and KPIs")
    simulate.add_argument(
        "scenario",
        type=scenario_argument,
        metavar="SCENARIO",
        help="scenario YAML file or the name of a shipped scenario (e.g. small)",
    )
    simulate.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the scenario's)"
    )
    simulate.add_argument(
        "--plan",
        default=None,
        metavar="PLAN",
        help="plan name in scenarios/plans or a plan file (default: no_incentive)",
    )
    simulate.add_argument("--out", required=True, metavar="DIR", help="output directory")
    simulate.set_defaults(handler=_simulate)
