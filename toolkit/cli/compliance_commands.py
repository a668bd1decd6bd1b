"""``lti compliance``: checks of a plan against the rules of the countries its people work in.

Each action keeps its own functions (``_retention`` and ``_add_retention`` for ``lti compliance
retention``), so actions are added without touching one another.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.cli.common import UserError, scenario_argument

RETENTION_TABLES = ("too_early", "summary", "calendar", "conflicts", "rules")


def _retention(args: argparse.Namespace) -> int:
    from toolkit.compliance import retention
    from toolkit.compliance.jurisdictions import load_jurisdictions, load_rules
    from toolkit.config import load_scenario
    from toolkit.plans import load_plan
    from toolkit.run.manifest import file_sha256, write_manifest
    from toolkit.run.outputs import check_output_dir, staged_directory

    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan, scenario=scenario)
    countries = load_jurisdictions()
    rules = load_rules()
    policy = retention.load_policy(args.policy, countries) if args.policy else None
    inputs = [args.scenario] + ([args.policy] if args.policy else [])
    identity = {
        "scenario.fingerprint": scenario.fingerprint(),
        "plan.fingerprint": plan.fingerprint(),
    }
    out = check_output_dir(args.out, "compliance retention", identity, args.force, inputs)
    try:
        check = retention.retention_check(plan, scenario, policy, rules, countries)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    found = (check.too_early, check.summary(), check.calendar, check.conflicts)
    tables = dict(zip(RETENTION_TABLES, (*found, retention.rules_table(check.rules)), strict=True))
    with staged_directory(out) as staging:
        outputs = []
        for name, table in tables.items():
            for suffix, write in ((".parquet", table.to_parquet), (".csv", table.to_csv)):
                write(staging / f"{name}{suffix}", index=False)
                outputs.append(staging / f"{name}{suffix}")
        report = staging / "retention.md"
        report.write_text(retention.retention_markdown(check), encoding="utf-8")
        outputs.append(report)
        record = {
            "command": "compliance retention",
            "scenario": {"path": str(args.scenario), "fingerprint": scenario.fingerprint()},
            "plan": {"name": plan.name, "fingerprint": plan.fingerprint()},
            "policy": None
            if args.policy is None
            else {"path": str(args.policy), "sha256": file_sha256(args.policy)},
            "settings": check.settings,
            "disclaimer": retention.DISCLAIMER,
        }
        write_manifest(staging, record, outputs)
    summary = tables["summary"]
    if summary.empty:
        line = "No record would be deleted before the awards and the law stop needing it"
    else:
        worst = summary.loc[summary["shortfall_days"].idxmax()]
        line = (
            f"{len(summary)} record kind(s) and countries deleted too early (worst: "
            f"{worst['record_kind']} in {worst['jurisdiction']}, {worst['shortfall_days']} days "
            "short)"
        )
    print(f"{line}; written to {out}. Not legal advice.")
    return 0


def _add_retention(actions: argparse._SubParsersAction) -> None:
    text = (
        "check that every record an award depends on (payroll, tax, personnel file, plan "
        "documents and award calculations, ITSM events, audit log) is kept at least as long as "
        "vesting + deferral + clawback lookback, per country of the plan's people; list what "
        "would be deleted too early and write the retention calendar (not legal advice)"
    )
    parser = actions.add_parser("retention", help=text.split(";")[0], description=text)
    parser.add_argument("--scenario", required=True, type=scenario_argument, help="the scenario")
    parser.add_argument("--plan", required=True, help="the plan (name or file)")
    parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        help="the organisation's retention policy (YAML); default: the statutory minimum",
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--force", action="store_true", help="replace what --out holds")
    parser.set_defaults(handler=_retention)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``compliance`` and its actions to the ``lti`` parser."""
    compliance = commands.add_parser(
        "compliance",
        help="compliance checks of a plan per jurisdiction (not legal advice)",
        description="Check a plan against the rules of the countries its people work in. The "
        "rules are dated, cited data in toolkit/compliance/jurisdictions/; not legal advice.",
    )
    actions = compliance.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_retention(actions)
