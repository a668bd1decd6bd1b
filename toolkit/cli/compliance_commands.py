"""``lti compliance``: a plan and its pay checked against the rules of its people's countries.

Each action keeps its own functions (``_retention`` and ``_add_retention`` for ``lti compliance
retention``, ``_pay_gap`` and ``_add_pay_gap`` for ``lti compliance pay-gap``, ``_checklist`` and
``_add_checklist`` for ``lti compliance checklist``), so actions are added without touching one
another. Not legal advice.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pandas as pd

from toolkit.cli.common import UserError, scenario_argument, seed, whole_number

RETENTION_TABLES = ("too_early", "summary", "calendar", "conflicts", "rules")


def _plan_inputs(args: argparse.Namespace, command: str, identity: dict | None = None):
    """Load scenario, plan, rules and policy, and check ``--out`` before any work starts.

    Returns the scenario, plan, countries, rules, policy and output directory.
    """
    from toolkit.compliance import retention
    from toolkit.compliance.jurisdictions import load_jurisdictions, load_rules
    from toolkit.config import load_scenario
    from toolkit.plans import load_plan
    from toolkit.run.outputs import check_output_dir

    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan, scenario=scenario)
    countries = load_jurisdictions()
    rules = load_rules()
    policy = retention.load_policy(args.policy, countries) if args.policy else None
    inputs = [args.scenario] + ([args.policy] if args.policy else [])
    known = {
        "scenario.fingerprint": scenario.fingerprint(),
        "plan.fingerprint": plan.fingerprint(),
        **{key: make(plan, scenario) for key, make in (identity or {}).items()},
    }
    out = check_output_dir(args.out, f"compliance {command}", known, args.force, inputs)
    return scenario, plan, countries, rules, policy, out


def _write_tables(staging: Path, tables: dict[str, pd.DataFrame]) -> list[Path]:
    """Write each table as Parquet and CSV; return the files written."""
    outputs = []
    for name, table in tables.items():
        for suffix, write in ((".parquet", table.to_parquet), (".csv", table.to_csv)):
            write(staging / f"{name}{suffix}", index=False)
            outputs.append(staging / f"{name}{suffix}")
    return outputs


def _record(command: str, args: argparse.Namespace, scenario, plan, settings: dict) -> dict:
    """Return the manifest record of a plan check: inputs with fingerprints, settings."""
    from toolkit.compliance.jurisdictions import DISCLAIMER
    from toolkit.run.manifest import file_sha256

    return {
        "command": f"compliance {command}",
        "scenario": {"path": str(args.scenario), "fingerprint": scenario.fingerprint()},
        "plan": {"name": plan.name, "fingerprint": plan.fingerprint()},
        "policy": None
        if args.policy is None
        else {"path": str(args.policy), "sha256": file_sha256(args.policy)},
        "settings": settings,
        "disclaimer": DISCLAIMER,
    }


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments every check of a plan takes."""
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


def _retention(args: argparse.Namespace) -> int:
    from toolkit.compliance import retention
    from toolkit.run.manifest import write_manifest
    from toolkit.run.outputs import staged_directory

    scenario, plan, countries, rules, policy, out = _plan_inputs(args, "retention")
    try:
        check = retention.retention_check(plan, scenario, policy, rules, countries)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    found = (check.too_early, check.summary(), check.calendar, check.conflicts)
    tables = dict(zip(RETENTION_TABLES, (*found, retention.rules_table(check.rules)), strict=True))
    with staged_directory(out) as staging:
        outputs = _write_tables(staging, tables)
        report = staging / "retention.md"
        report.write_text(retention.retention_markdown(check), encoding="utf-8")
        outputs.append(report)
        write_manifest(staging, _record("retention", args, scenario, plan, check.settings), outputs)
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
    _plan_arguments(parser)
    parser.set_defaults(handler=_retention)


REPORT_JSON = "pay_gap.json"
REPORT_HTML = "pay_gap.html"
RUNS_CSV = "pay_gap_runs.csv"


def _conventions(args: argparse.Namespace):
    from pydantic import ValidationError

    from toolkit.compliance.pay_conventions import PayGapConventions

    given = {
        "pay_basis": args.pay_basis,
        "pay_components": None if args.pay_items is None else tuple(args.pay_items),
        "variable_timing": args.timing,
        "variable_gap_over": args.variable_gap_over,
        "quartile_ties": args.quartile_ties,
        "min_group_size": args.min_group_size,
        "reference_year": args.reference_year,
        "category": args.category,
        "criteria": None if args.criteria is None else tuple(args.criteria),
        "bootstrap_replicates": args.bootstrap,
        "bootstrap_seed": args.seed,
    }
    values = {name: value for name, value in given.items() if value is not None}
    try:
        return PayGapConventions(**values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise UserError(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}") from None


def _run_tables(directory: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    from toolkit.run.manifest import verify_manifest

    manifest = verify_manifest(directory)
    for name in ("awards.parquet", "cashflows.parquet"):
        if name not in manifest.get("outputs", {}):
            raise UserError(f"{directory}: the run's manifest lists no {name}")
    awards = pd.read_parquet(directory / "awards.parquet")
    return manifest, awards, pd.read_parquet(directory / "cashflows.parquet")


def _scenario(args: argparse.Namespace):
    from toolkit.config import load_scenario

    if args.scenario is None:
        raise UserError(f"{args.input}: a run or batch needs --scenario (the run's scenario)")
    return load_scenario(args.scenario)


def _single(args, scenario, directory: Path, conventions) -> tuple[dict, dict]:
    from toolkit.compliance.pay_gap import pay_gap_report
    from toolkit.compliance.pay_people import people_from_run

    manifest, awards, cashflows = _run_tables(directory)
    recorded = manifest.get("scenario_fingerprint")
    if recorded is not None and recorded != scenario.fingerprint():
        raise UserError(
            f"{directory}: the run was made with another scenario (fingerprint {recorded}, "
            f"{args.scenario} has {scenario.fingerprint()})"
        )
    people, year = people_from_run(scenario, awards, cashflows, conventions)
    report = pay_gap_report(people, conventions, year)
    source = {
        "kind": "run",
        "path": str(directory),
        "key": manifest.get("key"),
        "plan": manifest.get("plan"),
        "seed": manifest.get("seed"),
        "scenario": {"path": str(args.scenario), "fingerprint": scenario.fingerprint()},
        "category_column": conventions.category,
        "base_pay": "base_salary of each person in the scenario (annual)",
        "variable_pay": f"awards.parquet / cashflows.parquet, timing {conventions.variable_timing}",
    }
    return {"source": source, **report}, source


def _batch(args, scenario, directory: Path, conventions) -> tuple[dict, pd.DataFrame, dict]:
    from toolkit.compliance.pay_conventions import NOT_LEGAL_ADVICE, describe_conventions
    from toolkit.compliance.pay_gap_plans import plan_pay_gaps, run_pay_gaps
    from toolkit.run.manifest import verify_manifest

    manifest = verify_manifest(directory)
    runs = pd.read_parquet(directory / "runs.parquet")
    chosen = []
    for run in runs.itertuples(index=False):
        run_manifest, awards, cashflows = _run_tables(directory / run.directory)
        if run_manifest.get("scenario_fingerprint") == scenario.fingerprint():
            identity = {"scenario": run.scenario, "plan": run.plan, "seed": int(run.seed)}
            chosen.append((identity, awards, cashflows))
    if not chosen:
        raise UserError(f"{directory}: no run of the batch was made with {args.scenario}")
    per_run = run_pay_gaps(scenario, chosen, conventions)
    per_run = per_run.sort_values(["scenario", "plan", "seed"], ignore_index=True)
    years = set(per_run["year"])
    reference = args.reference or manifest.get("reference")
    if reference is not None and reference not in set(per_run["plan"]):
        raise UserError(f"{directory}: the batch has no plan {reference!r} to compare with")
    plans = plan_pay_gaps(per_run, reference)
    summary = pd.read_parquet(directory / "summary.parquet")
    known = [c for c in ("net_value", "net_value_ci_low", "net_value_ci_high") if c in summary]
    plans = plans.merge(summary[["scenario", "plan", *known]], on=["scenario", "plan"], how="left")
    source = {
        "kind": "batch",
        "path": str(directory),
        "scenario": {"path": str(args.scenario), "fingerprint": scenario.fingerprint()},
        "category_column": conventions.category,
        "reference_years": sorted(int(y) for y in years),
    }
    record = {
        "title": "Equal-pay impact per plan: Directive (EU) 2023/970 Art. 9(1) and 10",
        "not_legal_advice": NOT_LEGAL_ADVICE,
        "source": source,
        "conventions": describe_conventions(conventions),
        "reference_plan": reference,
        "method": "each run's indicators as for one run (Art. 10 without bootstrap intervals); "
        "per plan the mean over seeds with a 95 % t-interval, and the paired change against "
        "the reference plan on the same seed, in percentage points",
        "plans": plans.to_dict(orient="records"),
    }
    return record, per_run, source


def _pay_gap(args: argparse.Namespace) -> int:
    from toolkit.compliance.pay_conventions import NOT_LEGAL_ADVICE
    from toolkit.compliance.pay_gap import pay_gap_report
    from toolkit.compliance.pay_gap_html import plans_html, report_html
    from toolkit.compliance.pay_people import PayGapInputError, read_people_csv
    from toolkit.run.manifest import write_manifest
    from toolkit.run.outputs import check_output_dir, staged_directory, write_json

    conventions = _conventions(args)
    source_path = Path(args.input)
    if not source_path.exists():
        raise UserError(f"{source_path}: no such file or directory")
    out = check_output_dir(
        args.out, "compliance pay-gap", None, force=args.force, inputs=[source_path]
    )
    per_run = None
    try:
        if source_path.is_dir() and (source_path / "runs.parquet").is_file():
            record, per_run, source = _batch(args, _scenario(args), source_path, conventions)
            html = plans_html(
                pd.DataFrame(record["plans"]),
                record["conventions"],
                NOT_LEGAL_ADVICE,
                record["reference_plan"],
            )
        elif source_path.is_dir():
            record, source = _single(args, _scenario(args), source_path, conventions)
            html = report_html(record)
        else:
            people = read_people_csv(source_path, conventions)
            source = {
                "kind": "csv",
                "path": str(source_path),
                "category_column": people.attrs["category_column"],
            }
            record = {
                "source": source,
                **pay_gap_report(people, conventions, conventions.reference_year),
            }
            html = report_html(record)
    except PayGapInputError as exc:
        raise UserError(str(exc)) from None
    with staged_directory(out) as staging:
        outputs = [write_json(staging / REPORT_JSON, record)]
        (staging / REPORT_HTML).write_text(html, encoding="utf-8")
        outputs.append(staging / REPORT_HTML)
        if per_run is not None:
            per_run.to_csv(staging / RUNS_CSV, index=False)
            outputs.append(staging / RUNS_CSV)
        settings = {name: c["value"] for name, c in record["conventions"].items()}
        write_manifest(
            staging,
            {"command": "compliance pay-gap", "input": source, "settings": settings},
            outputs,
        )
    print(
        f"Pay-gap report of the {source['kind']} {source_path} written to {out}; not legal advice"
    )
    return 0


def _group_size(text: str) -> int:
    return whole_number(text, 1, 1000)


def _replicates(text: str) -> int:
    return whole_number(text, 0, 100_000)


def _year(text: str) -> int:
    return whole_number(text, 1900, 2200)


def _add_pay_gap(actions: argparse._SubParsersAction) -> None:
    gap = actions.add_parser(
        "pay-gap",
        help="Directive (EU) 2023/970 Art. 9(1) indicators, Art. 10 flag, four-fifths rule",
        description="Compute the gender pay gap indicators of Art. 9(1) of Directive (EU) "
        "2023/970, the Art. 10 joint-pay-assessment flag (a category's gap of at least 5 % "
        "not explained by the criteria named, pooled Oaxaca-Blinder with bootstrap intervals) "
        "and the US four-fifths rule on receiving an award, with every convention printed. "
        "INPUT is a run directory or a batch directory of `lti batch` (with --scenario; for a "
        "batch, the gap each plan would create next to the plan comparison) or a people CSV "
        "(person_id, gender, category, base_pay, variable_pay; optional hours_per_year and "
        "criteria columns). Writes pay_gap.json and pay_gap.html. Not legal advice.",
    )
    gap.add_argument("input", metavar="INPUT", help="run or batch directory, or people CSV")
    gap.add_argument("--scenario", type=scenario_argument, help="the run's or batch's scenario")
    gap.add_argument("--out", required=True, help="output directory")
    gap.add_argument("--force", action="store_true", help="replace what --out holds")
    gap.add_argument(
        "--category",
        default=None,
        help="column defining categories of workers (default: grade; for a run also role, "
        "country or team_id; a CSV's own category column is used when it has one)",
    )
    gap.add_argument(
        "--criteria", nargs="*", default=None, help="objective criteria for Art. 10 (default: none)"
    )
    gap.add_argument(
        "--pay-basis", choices=["annual", "hourly"], default=None, help="default: annual"
    )
    gap.add_argument(
        "--pay-items",
        nargs="+",
        choices=["base_pay", "variable_pay"],
        default=None,
        help="items counted as pay (default: base_pay variable_pay)",
    )
    gap.add_argument(
        "--timing",
        choices=["grant", "earned", "vest", "payment"],
        default=None,
        help="when variable pay counts (default: earned)",
    )
    gap.add_argument(
        "--variable-gap-over",
        choices=["recipients", "all_workers"],
        default=None,
        help="default: recipients",
    )
    gap.add_argument(
        "--quartile-ties",
        choices=["order_by_id", "keep_together"],
        default=None,
        help="default: order_by_id",
    )
    gap.add_argument(
        "--min-group-size", type=_group_size, default=None, help="suppression size (default: 5)"
    )
    gap.add_argument("--reference-year", type=_year, default=None)
    gap.add_argument("--bootstrap", type=_replicates, default=None, help="resamples (default 999)")
    gap.add_argument("--seed", type=seed, default=None, help="bootstrap seed (default 0)")
    gap.add_argument("--reference", default=None, help="reference plan of a batch")
    gap.set_defaults(handler=_pay_gap)


CHECKLIST_MD = "checklist.md"
CHECKLIST_HTML = "checklist.html"


def _checklist(args: argparse.Namespace) -> int:
    from toolkit.compliance import checklists
    from toolkit.run.manifest import write_manifest
    from toolkit.run.outputs import staged_directory

    def start(plan, scenario) -> str:
        return (args.start or checklists.plan_start(plan, scenario)).isoformat()

    scenario, plan, countries, rules, policy, out = _plan_inputs(
        args, "checklist", {"settings.plan_start": start}
    )
    found = checklists.build_checklists(scenario, plan, rules, args.start, policy, countries)
    with staged_directory(out) as staging:
        outputs = _write_tables(staging, found.tables())
        for name, text in ((CHECKLIST_MD, checklists.checklists_markdown(found)),
                           (CHECKLIST_HTML, checklists.checklists_html(found))):  # fmt: skip
            (staging / name).write_text(text, encoding="utf-8")
            outputs.append(staging / name)
        write_manifest(staging, _record("checklist", args, scenario, plan, found.settings), outputs)
    uncovered = found.settings["uncovered"]
    gaps = f"; no rules for {', '.join(uncovered)} (listed as uncovered)" if uncovered else ""
    print(
        f"{len(found.legal_sign_off)} sign-off row(s) for {found.settings['clauses']} "
        f"discretionary clause(s) in {len(found.works_council)} country(ies){gaps}; written to "
        f"{out}. Not legal advice."
    )
    return 0


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD (got {text!r})") from None


def _add_checklist(actions: argparse._SubParsersAction) -> None:
    text = (
        "build the review checklists of a plan for the countries of the scenario's people: "
        "legal sign-off of every discretionary clause beside each country's review point, the "
        "works-council procedure with the day consultation must start, the tax and "
        "social-security classification of the award, and the retention calendar; writes CSV "
        "and Parquet of each table, checklist.md, checklist.html and a manifest (not legal "
        "advice)"
    )
    parser = actions.add_parser("checklist", help=text.split(":")[0], description=text)
    _plan_arguments(parser)
    parser.add_argument(
        "--start",
        type=_day,
        default=None,
        help="the day the plan takes effect (default: the first day of its first scored period)",
    )
    parser.set_defaults(handler=_checklist)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``compliance`` and its actions to the ``lti`` parser."""
    compliance = commands.add_parser(
        "compliance",
        help="compliance checks of a plan per jurisdiction and its equal-pay impact (not legal "
        "advice)",
        description="Check a plan against the rules of the countries its people work in and "
        "assess the pay gaps it creates. The rules are dated, cited data in "
        "toolkit/compliance/jurisdictions/; not legal advice.",
    )
    actions = compliance.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_retention(actions)
    _add_pay_gap(actions)
    _add_checklist(actions)
