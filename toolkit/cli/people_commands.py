"""``lti people reconcile``: an HR roster and a payroll export against a run's people and awards."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from toolkit.cli.common import UserError, run_inputs, scenario_argument

COMMAND = "people-reconcile"


def _tables(result, roster, payroll) -> dict[str, pd.DataFrame]:
    """Return the output tables by file stem; periods become text so CSV and Parquet agree."""
    quarantine = pd.concat([roster.quarantine, payroll.quarantine], ignore_index=True)
    forfeitures = result.forfeitures.copy()
    forfeitures["end_date"] = forfeitures["end_date"].dt.strftime("%Y-%m-%d")
    return {
        "reconciliation": result.table,
        "summary": result.summary,
        "forfeitures": forfeitures,
        "awards_adjusted": result.adjusted_awards,
        "quarantine": quarantine,
    }


def _reconcile(args: argparse.Namespace) -> int:
    from toolkit.ingest import IngestError
    from toolkit.ingest.people import read_payroll, read_roster
    from toolkit.people import reconcile_people
    from toolkit.people.reconcile import reconciliation_markdown
    from toolkit.run.manifest import write_manifest
    from toolkit.run.outputs import check_output_dir, staged_directory

    run = Path(args.run)
    manifest, scenario, plan = run_inputs(run, args.scenario, args.plan)
    inputs = [args.roster, args.payroll, run]
    out = check_output_dir(args.out, COMMAND, None, force=args.force, inputs=inputs)
    try:
        roster = read_roster(args.roster)
        payroll = read_payroll(args.payroll)
    except IngestError as exc:
        raise UserError(str(exc)) from None
    if roster.source.sha256 == payroll.source.sha256:
        raise UserError(f"{args.payroll}: same content as {args.roster}")
    ledger = {}
    for name in ("awards", "cashflows"):
        path = run / f"{name}.parquet"
        if not path.is_file():
            raise UserError(f"{path}: missing; a batch run directory holds {name}.parquet")
        ledger[name] = pd.read_parquet(path)
    result = reconcile_people(
        roster.table, payroll.table, scenario, plan, ledger["awards"], ledger["cashflows"]
    )
    with staged_directory(out) as staging:
        outputs = []
        for name, table in _tables(result, roster, payroll).items():
            table.to_parquet(staging / f"{name}.parquet", index=False)
            table.to_csv(staging / f"{name}.csv", index=False)
            outputs += [staging / f"{name}.parquet", staging / f"{name}.csv"]
        report = staging / "reconciliation.md"
        title = f"{scenario.name} under {plan.name}, run {manifest.get('key', run.name)}"
        report.write_text(reconciliation_markdown(result, title), encoding="utf-8")
        outputs.append(report)
        record = {
            "command": COMMAND,
            "run": {"path": str(run), "key": manifest.get("key")},
            "scenario": {"path": str(args.scenario), "fingerprint": scenario.fingerprint()},
            "plan": {"name": plan.name, "fingerprint": plan.fingerprint()},
            "inputs": [roster.accounting(), payroll.accounting()],
            "mismatches": int(len(result.table)),
            "money_affected": float(result.summary["amount"].sum()),
        }
        write_manifest(staging, record, outputs)
    quarantined = len(roster.quarantine) + len(payroll.quarantine)
    print(
        f"{len(result.table)} mismatch(es) affecting {result.summary['amount'].sum():,.2f} "
        f"{scenario.currency}; {quarantined} row(s) quarantined; written to {out}"
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``people`` and its action ``reconcile`` to the ``lti`` parser."""
    people = commands.add_parser(
        "people",
        help="HR roster and payroll exports against a run's people and awards",
        description="People data: HR roster and payroll exports (CSV; columns in "
        "toolkit/ingest/README.md, People data).",
    )
    actions = people.add_subparsers(dest="action", required=True, metavar="ACTION")
    text = (
        "Reconcile an HR roster and a payroll export with a run's scenario people and award "
        "ledger: every mismatch with its kind and the money it affects, the plan's good/bad-"
        "leaver rules applied to the awards of people who left, rejected rows kept with "
        "their reasons (quarantine)."
    )
    reconcile = actions.add_parser("reconcile", help=text, description=text)
    reconcile.add_argument("roster", metavar="ROSTER", help="HR roster export (CSV)")
    reconcile.add_argument("payroll", metavar="PAYROLL", help="payroll export (CSV)")
    reconcile.add_argument(
        "--run", required=True, metavar="DIR", help="a run directory of lti batch"
    )
    reconcile.add_argument(
        "--scenario", required=True, type=scenario_argument, help="the run's scenario"
    )
    reconcile.add_argument("--plan", required=True, help="the run's plan (name or file)")
    reconcile.add_argument("--out", required=True, help="output directory")
    reconcile.add_argument("--force", action="store_true", help="replace what --out holds")
    reconcile.set_defaults(handler=_reconcile)
