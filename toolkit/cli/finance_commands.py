"""``lti finance``: accruals, roll-forward, journal, liability forecast and cost of a run or batch.

DIR is one run directory of ``lti batch``, or a batch directory: then ``--scenario``,
``--plan`` and ``--seed`` (default the lowest) pick the run that is accrued and rolled forward,
and the forecast and the cost by business unit and service cover every run of the batch.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.cli.common import UserError, scenario_argument
from toolkit.cli.kpi_commands import fraction

if TYPE_CHECKING:
    from toolkit.config.plan import Plan
    from toolkit.config.scenario import Scenario
    from toolkit.report.data import Batch


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


def _batch_run(
    directory: Path, scenario: Scenario, plan: Plan, seed: int | None
) -> tuple[Batch, Path]:
    """Return the loaded batch and the directory of its run of ``scenario``, ``plan``, ``seed``.

    Raises
    ------
    UserError
        If the batch cannot be read, or holds no such run (naming the runs it holds).
    """
    from toolkit.report.data import ReportError, load_batch, run_directory
    from toolkit.run.manifest import verify_manifest

    recorded = verify_manifest(directory)
    runs = pd.read_parquet(directory / "runs.parquet")
    # the forecast needs no reference plan; a batch run without one still has plans to read
    reference = None if recorded.get("reference", "") is not None else str(runs["plan"].min())
    try:
        batch = load_batch(directory, reference=reference)
    except ReportError as exc:
        raise UserError(str(exc)) from None
    runs = batch.runs
    mine = runs[(runs["scenario"] == scenario.name) & (runs["plan"] == plan.name)]
    if mine.empty:
        held = sorted({f"{s}/{p}" for s, p in zip(runs["scenario"], runs["plan"], strict=True)})
        raise UserError(
            f"{directory}: the batch has no run of scenario {scenario.name!r} and plan "
            f"{plan.name!r}; it holds {', '.join(held)} (scenario/plan)"
        )
    seeds = sorted(int(s) for s in mine["seed"])
    chosen = seeds[0] if seed is None else seed
    if chosen not in seeds:
        raise UserError(
            f"{directory}: no run of seed {chosen} for {scenario.name}/{plan.name}; "
            f"seeds: {', '.join(map(str, seeds))}"
        )
    row = mine[mine["seed"] == chosen].iloc[0]
    return batch, run_directory(batch.directory, row["directory"])


def _finance(args: argparse.Namespace) -> int:
    from toolkit import finance
    from toolkit.config import load_scenario
    from toolkit.finance.rollforward import LedgerExportError
    from toolkit.plans import load_plan
    from toolkit.plans.loading import PERIODS_PER_YEAR
    from toolkit.report.finance import finance_page, ledger_runs
    from toolkit.run.manifest import verify_manifest, write_manifest
    from toolkit.run.outputs import check_output_dir, staged_directory

    directory = Path(args.directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan, scenario=scenario)
    batch = None
    if (directory / "runs.parquet").is_file():
        batch, run_dir = _batch_run(directory, scenario, plan, args.seed)
    elif args.seed is not None:
        raise UserError(f"{directory}: --seed picks a run of a batch directory; DIR is one run")
    else:
        run_dir = directory
    manifest = verify_manifest(run_dir)
    for part, model in (("scenario", scenario), ("plan", plan)):
        recorded = _fingerprint(manifest, part)
        if recorded is not None and recorded != model.fingerprint():
            raise UserError(
                f"{run_dir}: the run was made with another {part} (fingerprint {recorded}, "
                f"{args.scenario if part == 'scenario' else args.plan} has {model.fingerprint()})"
            )
    periods_per_year = PERIODS_PER_YEAR[scenario.horizon.period]
    inputs = [directory] + ([args.gl] if args.gl else [])
    out = check_output_dir(args.out, "finance", None, force=args.force, inputs=inputs)
    try:
        tables = finance.LedgerTables.read(run_dir)
        schedule = finance.accrual_schedule(
            tables,
            plan,
            periods_per_year,
            method=args.method,
            forfeiture_rate=args.forfeiture_rate,
            expected_score=args.expected_score,
        )
        people = finance.accruals_by_person(schedule, tables.awards)
        quarters = finance.roll_forward(schedule, scenario, periods_per_year)
        journal = finance.journal_entries(quarters)
        differences = (
            finance.reconcile(journal, finance.read_gl_export(args.gl)) if args.gl else None
        )
    except (finance.AccrualError, LedgerExportError) as exc:
        raise UserError(str(exc)) from None
    seed = int(manifest.get("seed") or 0)
    runs = (
        ledger_runs(batch)
        if batch is not None
        else [finance.LedgerRun(scenario.name, plan.name, seed, tables, plan, scenario)]
    )
    score = args.expected_score
    summary = finance.forecast_summary(runs, expected_score=score)
    costs = finance.run_costs(runs)
    by_service = finance.cost_statement(costs, ("business_unit", "service_id"))
    results = {
        "accruals": schedule,
        "accruals_by_person": people,
        "rollforward": quarters,
        "journal": journal,
        "forecast": finance.liability_forecast(runs, expected_score=score),
        "forecast_summary": summary,
        "cost_by_business_unit": finance.cost_statement(costs),
        "cost_by_service": by_service,
    }
    if differences is not None:
        results["reconciliation"] = differences
    with staged_directory(out) as staging:
        outputs = []
        for name, table in results.items():
            table.to_parquet(staging / f"{name}.parquet", index=False)
            table.to_csv(staging / f"{name}.csv", index=False)
            outputs += [staging / f"{name}.parquet", staging / f"{name}.csv"]
        report = staging / "rollforward.md"
        markdown = finance.roll_forward_markdown(quarters, plan.name)
        report.write_text(markdown, encoding="utf-8")
        page = staging / "finance.html"
        page.write_text(
            finance_page(
                f"{plan.name}: LTI finance report", quarters, summary, by_service, scenario.currency
            ),
            encoding="utf-8",
        )
        outputs += [report, page]
        record = {
            "command": "finance",
            "run": {"path": str(run_dir), "key": manifest.get("key")},
            "batch": None
            if batch is None
            else {"path": str(directory), "runs": len(batch.runs), "forecast_runs": len(runs)},
            "scenario": {"path": str(args.scenario), "fingerprint": scenario.fingerprint()},
            "plan": {"name": plan.name, "fingerprint": plan.fingerprint()},
            "settings": {
                "method": args.method,
                "forfeiture_rate": args.forfeiture_rate,
                "expected_score": args.expected_score,
                "gl": None if args.gl is None else str(args.gl),
                "seed": args.seed,
            },
        }
        write_manifest(staging, record, outputs)
    closing = quarters[quarters["quarter"] == quarters["quarter"].iloc[-1]]["closing"].sum()
    line = f"Accruals of {len(schedule):,} period rows; closing liability {closing:,.2f}"
    line += f"; forecast over {len(runs)} run(s)"
    if differences is not None:
        line += f"; {len(differences)} GL difference(s)"
    print(f"{line}; written to {out}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``finance`` to the ``lti`` parser."""
    finance = commands.add_parser(
        "finance",
        help="accruals, roll-forward, journal, liability forecast and cost by unit",
        description="Accrue a run's awards (other long-term benefit / ASC 710: expected payout "
        "× service rendered, re-estimated each period), roll the liability forward per "
        "quarter, cohort, team and business unit, write the journal entries and, with --gl, "
        "reconcile a general-ledger export against them; forecast what is paid per cohort and "
        "year (P10/P50/P90 over seeds, run-off included) against the cap, and charge awards to "
        "services and business units. DIR is a run directory of lti batch (awards, cashflows "
        "and liability Parquet files and a manifest) or a batch directory: then the run is "
        "picked by --scenario, --plan and --seed, and the forecast covers every run.",
    )
    finance.add_argument("directory", metavar="DIR", help="a batch directory or one of its runs")
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
        help="score expected for periods to come, in the accruals and in the forecast of open "
        "windows: to_date (default) or a number (100 = target)",
    )
    finance.add_argument(
        "--seed",
        type=int,
        default=None,
        help="with a batch directory: the seed of the run to accrue (default: the lowest)",
    )
    finance.add_argument("--gl", default=None, help="general-ledger export (CSV) to reconcile")
    finance.add_argument("--out", required=True, help="output directory")
    finance.add_argument("--force", action="store_true", help="replace what --out holds")
    finance.set_defaults(handler=_finance)
