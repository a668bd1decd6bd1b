"""``lti finance``: the accrual schedule, quarterly roll-forward and journal of a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.cli.common import UserError, scenario_argument
from toolkit.cli.kpi_commands import fraction

TABLES = ("accruals", "rollforward", "journal")


def _fingerprint(manifest: dict, part: str) -> str | None:
    """Return the scenario or plan fingerprint a run's manifest records (batch or simulate)."""
    flat = manifest.get(f"{part}_fingerprint")
    nested = manifest.get(part)
    if flat is None and isinstance(nested, dict):
        return nested.get("fingerprint")
    return flat


def _score(text: str) -> float | str:
    """Parse ``to_date`` or a score of 0 or more (an argparse type)."""
    return text if text == "to_date" else fraction(text)


def _finance(args: argparse.Namespace) -> int:
    from toolkit import finance
    from toolkit.config import load_scenario
    from toolkit.finance.rollforward import LedgerExportError
    from toolkit.plans import load_plan
    from toolkit.plans.loading import PERIODS_PER_YEAR
    from toolkit.run.manifest import verify_manifest, write_manifest
    from toolkit.run.outputs import check_output_dir, staged_directory

    directory = Path(args.directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    manifest = verify_manifest(directory)
    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan, scenario=scenario)
    for part, model in (("scenario", scenario), ("plan", plan)):
        recorded = _fingerprint(manifest, part)
        if recorded is not None and recorded != model.fingerprint():
            raise UserError(
                f"{directory}: the run was made with another {part} (fingerprint {recorded}, "
                f"{args.scenario if part == 'scenario' else args.plan} has {model.fingerprint()})"
            )
    periods_per_year = PERIODS_PER_YEAR[scenario.horizon.period]
    inputs = [directory] + ([args.gl] if args.gl else [])
    out = check_output_dir(args.out, "finance", None, force=args.force, inputs=inputs)
    try:
        tables = finance.LedgerTables.read(directory)
        schedule = finance.accrual_schedule(
            tables,
            plan,
            periods_per_year,
            method=args.method,
            forfeiture_rate=args.forfeiture_rate,
            expected_score=args.expected_score,
        )
        quarters = finance.roll_forward(schedule, scenario, periods_per_year)
        journal = finance.journal_entries(quarters)
        differences = (
            finance.reconcile(journal, finance.read_gl_export(args.gl)) if args.gl else None
        )
    except (finance.AccrualError, LedgerExportError) as exc:
        raise UserError(str(exc)) from None
    results = {"accruals": schedule, "rollforward": quarters, "journal": journal}
    if differences is not None:
        results["reconciliation"] = differences
    with staged_directory(out) as staging:
        outputs = []
        for name, table in results.items():
            table.to_parquet(staging / f"{name}.parquet", index=False)
            table.to_csv(staging / f"{name}.csv", index=False)
            outputs += [staging / f"{name}.parquet", staging / f"{name}.csv"]
        report = staging / "rollforward.md"
        report.write_text(finance.roll_forward_markdown(quarters, plan.name), encoding="utf-8")
        outputs.append(report)
        record = {
            "command": "finance",
            "run": {"path": str(directory), "key": manifest.get("key")},
            "scenario": {"path": str(args.scenario), "fingerprint": scenario.fingerprint()},
            "plan": {"name": plan.name, "fingerprint": plan.fingerprint()},
            "settings": {
                "method": args.method,
                "forfeiture_rate": args.forfeiture_rate,
                "expected_score": args.expected_score,
                "gl": None if args.gl is None else str(args.gl),
            },
        }
        write_manifest(staging, record, outputs)
    closing = quarters[quarters["quarter"] == quarters["quarter"].iloc[-1]]["closing"].sum()
    line = f"Accruals of {len(schedule):,} period rows; closing liability {closing:,.2f}"
    if differences is not None:
        line += f"; {len(differences)} GL difference(s)"
    print(f"{line}; written to {out}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``finance`` to the ``lti`` parser."""
    finance = commands.add_parser(
        "finance",
        help="accrual schedule, quarterly roll-forward and journal of a run",
        description="Accrue a run's awards (other long-term benefit / ASC 710: expected payout "
        "× service rendered, re-estimated each period), roll the liability forward per "
        "quarter, cohort, team and business unit, write the journal entries and, with --gl, "
        "reconcile a general-ledger export against them. DIR is a batch run directory "
        "(awards, cashflows and liability Parquet files and a manifest).",
    )
    finance.add_argument("directory", metavar="DIR", help="a run directory of lti batch")
    finance.add_argument(
        "--scenario", required=True, type=scenario_argument, help="the run's scenario"
    )
    finance.add_argument("--plan", required=True, help="the run's plan (name or file)")
    finance.add_argument(
        "--forfeiture-rate",
        required=True,
        type=fraction,
        metavar="RATE",
        help="expected annual leaver rate, from 0 up to (not including) 1; no default",
    )
    finance.add_argument(
        "--method",
        choices=["straight_line", "graded"],
        default="graded",
        help="attribution of graded tranches (default: graded, tranche by tranche)",
    )
    finance.add_argument(
        "--expected-score",
        type=_score,
        default="to_date",
        help="score expected for periods to come: to_date (default) or a number (100 = target)",
    )
    finance.add_argument("--gl", default=None, help="general-ledger export (CSV) to reconcile")
    finance.add_argument("--out", required=True, help="output directory")
    finance.add_argument("--force", action="store_true", help="replace what --out holds")
    finance.set_defaults(handler=_finance)
