"""``lti validate`` and ``lti simulate``: check scenarios strictly, run them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from toolkit.cli.common import EXIT_USER_ERROR
from toolkit.config import ConfigError, load_scenario


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
            f"{path}: ok (scenario {scenario.name!r}: {len(org.teams)} teams, "
            f"{len(org.services)} services, {len(org.vendors)} vendors, "
            f"{scenario.horizon.years} years in {scenario.horizon.period}s)"
        )
    return EXIT_USER_ERROR if failed else 0


def format_summary(table: pd.DataFrame) -> str:
    """Render a KPI summary (``kpi, value, unit, direction``) for the terminal."""
    shown = table.copy()
    shown["value"] = [f"{v:,.3f}".rstrip("0").rstrip(".") for v in shown["value"]]
    shown["better"] = shown.pop("direction")
    return shown.to_string(index=False)


def _simulate(args: argparse.Namespace) -> int:
    from toolkit.metrics import summary
    from toolkit.run import run_scenario

    result = run_scenario(args.scenario, args.seed, args.out)
    truth = result.truth
    print(
        f"Simulated {result.scenario.name!r} with seed {result.seed}: "
        f"{len(truth.incidents):,} incidents, {len(truth.changes):,} changes, "
        f"{len(truth.outages):,} outage records in {result.wall_time_seconds:.2f} s"
    )
    table = format_summary(summary(truth))
    print(f"Whole-horizon KPIs, organisation-wide (true log):\n{table}")
    print(f"Results in {Path(args.out)}/ (truth/, kpis.parquet, manifest.json)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``validate`` and ``simulate`` to the ``lti`` parser."""
    validate = commands.add_parser("validate", help="check scenario files strictly")
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    validate.set_defaults(handler=_validate)

    simulate = commands.add_parser("simulate", help="simulate a scenario, write logs and KPIs")
    simulate.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    simulate.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the scenario's)"
    )
    simulate.add_argument("--out", required=True, metavar="DIR", help="output directory")
    simulate.set_defaults(handler=_simulate)
