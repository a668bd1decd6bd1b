"""The ``lti`` command: validate scenarios, simulate them and list the KPI catalogue.

User mistakes (bad files, bad arguments) end with a message and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import toolkit
from toolkit.config import ConfigError, load_scenario

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback."""


def _cmd_validate(args: argparse.Namespace) -> int:
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
            f"{path}: ok (scenario {scenario.name!r}: {len(org.teams)} teams, "
            f"{len(org.services)} services, {len(org.vendors)} vendors, "
            f"{scenario.horizon.years} years in {scenario.horizon.period}s)"
        )
    return EXIT_USER_ERROR if failed else 0


def _format_summary(table: pd.DataFrame) -> str:
    shown = table.copy()
    shown["value"] = [f"{v:,.3f}".rstrip("0").rstrip(".") for v in shown["value"]]
    shown["better"] = shown.pop("direction")
    return shown.to_string(index=False)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from toolkit.metrics import summary
    from toolkit.run import run_scenario

    result = run_scenario(args.scenario, args.seed, args.out)
    n_incidents = len(result.truth.incidents)
    print(
        f"Simulated {result.scenario.name!r} with seed {result.seed}: {n_incidents:,} incidents, "
        f"{len(result.truth.changes):,} changes, {len(result.truth.outages):,} outage records "
        f"in {result.wall_time_seconds:.2f} s"
    )
    table = _format_summary(summary(result.truth))
    print(f"Whole-horizon KPIs, organisation-wide (true log):\n{table}")
    print(f"Results in {Path(args.out)}/ (truth/, kpis.parquet, manifest.json)")
    return 0


def _cmd_kpis(args: argparse.Namespace) -> int:
    from toolkit.metrics import catalogue_table

    if not args.list:
        raise UserError("nothing to do: give --list to print the KPI catalogue")
    for row in catalogue_table().itertuples(index=False):
        print(f"{row.kpi}  [{row.unit}; {row.direction} is better; {row.indicator}]")
        print(
            textwrap.fill(row.definition, width=96, initial_indent="    ", subsequent_indent="    ")
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser, with one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="lti",
        description="Design and stress-test long-term incentive plans for IT service management.",
    )
    parser.add_argument("--version", action="version", version=f"lti {toolkit.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check scenario files strictly")
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    validate.set_defaults(handler=_cmd_validate)

    simulate = commands.add_parser("simulate", help="simulate a scenario, write logs and KPIs")
    simulate.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    simulate.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the scenario's)"
    )
    simulate.add_argument("--out", required=True, metavar="DIR", help="output directory")
    simulate.set_defaults(handler=_cmd_simulate)

    kpis = commands.add_parser("kpis", help="the KPI catalogue")
    kpis.add_argument("--list", action="store_true", help="print every KPI with its definition")
    kpis.set_defaults(handler=_cmd_kpis)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lti`` command line and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
    except (UserError, OSError) as exc:
        print(f"lti {args.command}: {exc}", file=sys.stderr)
    return EXIT_USER_ERROR
