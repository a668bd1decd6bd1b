"""``lti gov``: the governance database and its tamper-evident audit log.

Verification that finds the log tampered with exits 1 (a finding, not a user mistake); user
mistakes exit 2 like every other command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from toolkit.cli.common import UserError

EXIT_TAMPERED = 1


def _engine(args: argparse.Namespace, create: bool = False):
    """Open the database named by ``--db``; only ``init`` (and ``demo``) create a new file."""
    import os

    from toolkit.governance import GovernanceError, open_engine
    from toolkit.governance.database import DATABASE_VARIABLE

    target = args.db or os.environ.get(DATABASE_VARIABLE)
    if target and "://" not in target and not create and not Path(target).expanduser().exists():
        raise UserError(f"{target}: no governance database there; `lti gov init` creates one")
    try:
        return open_engine(target)
    except GovernanceError as exc:
        raise UserError(str(exc)) from None


def _guarded(call):
    """Turn a governance refusal into a user error (one line, exit 2)."""
    from toolkit.governance import GovernanceError

    try:
        return call()
    except GovernanceError as exc:
        raise UserError(str(exc)) from None


def _init(args: argparse.Namespace) -> int:
    from toolkit.governance import schema_version

    engine = _engine(args, create=True)
    print(f"governance database ready at schema version {schema_version(engine)}")
    return 0


def _log(args: argparse.Namespace) -> int:
    from toolkit.governance import entries

    shown = 0
    for entry in entries(_engine(args)):
        if args.action and not entry.action.startswith(args.action):
            continue
        if args.json:
            print(json.dumps({**entry.content(), "hash": entry.hash}, ensure_ascii=False))
        else:
            print(
                f"{entry.seq:>6}  {entry.recorded_at}  {entry.actor:<16} {entry.action:<24} "
                f"{entry.subject}  {entry.hash[:12]}"
            )
        shown += 1
    if not shown and not args.json:
        print("no entries")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from toolkit.governance import Checkpoint, verify

    against = _guarded(lambda: Checkpoint.load(args.checkpoint)) if args.checkpoint else None
    result = verify(_engine(args), against)
    print(
        str(result) + (f"; matches checkpoint {args.checkpoint}" if result.ok and against else "")
    )
    return 0 if result.ok else EXIT_TAMPERED


def _checkpoint(args: argparse.Namespace) -> int:
    from toolkit.governance import checkpoint

    out = Path(args.out).expanduser()
    if out.is_dir() or not out.parent.is_dir():
        raise UserError(f"{out}: give the path of a file in an existing directory")
    if out.exists() and not args.force:
        raise UserError(f"{out}: exists; give --force to replace it")
    signed = _guarded(lambda: checkpoint(_engine(args), args.as_user))
    signed.save(out)
    print(f"checkpoint of {signed.count} entries (head {signed.head[:16]}) written to {out}")
    return 0


def _record(args: argparse.Namespace) -> int:
    from toolkit.governance.inputs import record_inputs

    engine = _engine(args)
    for directory in args.directories:
        entry = _guarded(lambda d=directory: record_inputs(engine, args.as_user, d))
        print(f"entry {entry.seq}: {entry.action} {entry.subject}")
    return 0


def _ledger(args: argparse.Namespace):
    from toolkit.governance import Governance

    return Governance(_engine(args))


def _day(text: str):
    """Read a ``YYYY-MM-DD`` date argument."""
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _money(text: str) -> float:
    """Read a finite sum of money."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _person(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    _guarded(
        lambda: gov.add_person(
            args.as_user, args.person_id, args.name, args.role, args.team, args.vendor
        )
    )
    print(f"{args.person_id} registered as {', '.join(sorted(set(args.role)))}")
    return 0


def _propose(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    number = _guarded(
        lambda: gov.propose(
            args.as_user,
            args.team,
            args.period,
            args.amount,
            args.reason,
            args.evidence,
            args.beneficiary,
        )
    )
    print(f"adjustment {number} proposed")
    return 0


def _approve(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    status = _guarded(lambda: gov.approve(args.as_user, args.adjustment, args.comment))
    print(f"adjustment {args.adjustment}: {status}")
    return 0


def _reject(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    status = _guarded(lambda: gov.reject(args.as_user, args.adjustment, args.comment))
    print(f"adjustment {args.adjustment}: {status}")
    return 0


def _statement(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    number = _guarded(
        lambda: gov.issue_statement(
            args.as_user,
            args.team,
            args.period,
            args.amount,
            args.window_days,
            args.on,
            args.vendor,
        )
    )
    print(f"statement {number} issued, open to contest for {args.window_days} days")
    return 0


def _contest(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    number = _guarded(lambda: gov.contest(args.as_user, args.statement, args.grounds, args.on))
    print(f"contest {number} filed")
    return 0


def _decide(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    _guarded(
        lambda: gov.decide_contest(args.as_user, args.contest, args.outcome, args.reason, args.on)
    )
    print(f"contest {args.contest}: {args.outcome}")
    return 0


def _override(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    number = _guarded(
        lambda: gov.propose_override(
            args.as_user,
            args.team,
            args.period,
            args.amount,
            args.circumstance,
            args.description,
            args.quorum,
        )
    )
    print(f"override {number} proposed; it needs {args.quorum} approving votes")
    return 0


def _vote(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    status = _guarded(
        lambda: gov.vote_override(args.as_user, args.override, args.vote == "approve")
    )
    print(f"override {args.override}: {status}")
    return 0


def _show(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    table = _guarded(lambda: gov.view(args.as_user, args.view))
    if args.csv:
        out = Path(args.csv).expanduser()
        if out.is_dir() or not out.parent.is_dir():
            raise UserError(f"{out}: give the path of a file in an existing directory")
        table.to_csv(out, index=False)
        print(f"{len(table)} rows written to {out}")
    else:
        print(table.to_string(index=False) if len(table) else f"no {args.view} you may see")
    return 0


def _document_out(text: str) -> Path:
    """Check a document's output path: ``.md`` or ``.html`` in an existing directory."""
    out = Path(text).expanduser()
    if out.suffix.lower() not in (".md", ".html"):
        raise UserError(f"{out}: give a file name ending in .md or .html")
    if out.is_dir() or not out.parent.is_dir():
        raise UserError(f"{out}: give the path of a file in an existing directory")
    return out


def _write_document(out: Path, table, title: str) -> None:
    from toolkit.governance.settlement import as_html, as_markdown

    body = as_html(table, title) if out.suffix.lower() == ".html" else as_markdown(table, title)
    out.write_text(body, encoding="utf-8")


def _agenda(args: argparse.Namespace) -> int:
    from toolkit.governance.settlement import agenda

    out = _document_out(args.out)
    gov = _ledger(args)
    table = _guarded(lambda: agenda(gov, args.as_user, args.on))
    when = args.on.isoformat() if args.on else "today"
    _write_document(out, table, f"Steering committee agenda ({when})")
    print(f"{len(table)} open items written to {out}")
    return 0


def _decisions(args: argparse.Namespace) -> int:
    from toolkit.governance.settlement import decision_log

    out = _document_out(args.out)
    gov = _ledger(args)
    table = _guarded(lambda: decision_log(gov, args.as_user))
    _write_document(out, table, "Decision log")
    print(f"{len(table)} decisions written to {out}")
    return 0


def _settle(args: argparse.Namespace) -> int:
    from toolkit.governance.settlement import settle_run

    out = Path(args.out).expanduser()
    if out.suffix.lower() != ".csv" or out.is_dir() or not out.parent.is_dir():
        raise UserError(f"{out}: give a .csv file in an existing directory")
    gov = _ledger(args)
    settled = _guarded(lambda: settle_run(gov, args.as_user, args.run))
    settled.to_csv(out, index=False)
    changed = int((settled["decision"] != "").sum())
    print(f"{len(settled)} cash flows ({changed} from decisions) written to {out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from toolkit.governance.demo import build_demo

    gov, signed = _guarded(lambda: build_demo(args.db, args.batch, args.reference))
    counts = {name: len(gov.view("audit-lu", name)) for name in ("adjustments", "contests")}
    print(
        f"example ledger written: {counts['adjustments']} adjustments, {counts['contests']} "
        f"contests, {signed.count} audit entries checkpointed by {signed.signed_by}"
    )
    if args.checkpoint:
        signed.save(args.checkpoint)
        print(f"checkpoint written to {args.checkpoint}")
    return 0


def _services(items: list[str]) -> dict[str, list[str]]:
    """Read ``SERVICE=TEAM,TEAM`` arguments (the owner first)."""
    services = {}
    for item in items:
        service, _, teams = item.partition("=")
        if not service or not teams:
            raise UserError(f"--service {item!r}: write SERVICE=OWNER[,TEAM...]")
        services[service] = [team for team in teams.split(",") if team]
    return services


def _dispute(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    services = _services(args.service)
    number = _guarded(
        lambda: gov.file_dispute(
            args.as_user,
            args.team,
            args.period,
            args.at_stake,
            args.rule,
            services,
            args.grounds,
            args.vendor,
        )
    )
    print(f"dispute {number} filed")
    return 0


def _position(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    agree = args.position == "agree"
    status = _guarded(lambda: gov.take_position(args.as_user, args.dispute, agree, args.outcome))
    print(f"dispute {args.dispute}: {status}")
    return 0


def _decide_dispute(args: argparse.Namespace) -> int:
    gov = _ledger(args)
    status = _guarded(
        lambda: gov.decide_dispute(args.as_user, args.dispute, args.outcome, args.reason)
    )
    print(f"dispute {args.dispute}: {status}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from toolkit.governance.export import export_ledger

    out = Path(args.out).expanduser()
    gov = _ledger(args)
    written = _guarded(lambda: export_ledger(gov, args.as_user, out, force=args.force))
    print(f"{len(written)} files written to {out}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``gov`` and its actions to the ``lti`` parser."""
    gov = commands.add_parser(
        "gov",
        help="the governance database and its tamper-evident audit log",
        description="The governance database (an SQLite file or a PostgreSQL URL, or "
        "$LTI_GOV_DB) and its append-only, hash-chained audit log.",
    )
    actions = gov.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, handler, text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--db", metavar="FILE|URL", help="SQLite file or SQLAlchemy URL (default $LTI_GOV_DB)"
        )
        parser.set_defaults(handler=handler)
        return parser

    action("init", _init, "create the database or bring its schema to the newest version")
    log = action("log", _log, "list the audit log's entries in order")
    log.add_argument("--action", default="", help="only actions starting with this text")
    log.add_argument("--json", action="store_true", help="one JSON object per entry")
    verify = action(
        "verify",
        _verify,
        "recompute the hash chain; exit 1 naming the first bad entry if it was tampered with",
    )
    verify.add_argument(
        "--checkpoint", metavar="FILE", help="a checkpoint kept elsewhere (shows truncation)"
    )
    point = action("checkpoint", _checkpoint, "sign off the log's count and head hash")
    point.add_argument("--as", dest="as_user", required=True, metavar="PERSON", help="who signs")
    point.add_argument("--out", required=True, metavar="FILE", help="checkpoint file to write")
    point.add_argument("--force", action="store_true", help="replace an existing file")
    record = action(
        "record", _record, "record a run, batch or ingest directory's manifest as an input"
    )
    record.add_argument("directories", nargs="+", metavar="DIR")
    record.add_argument("--as", dest="as_user", required=True, metavar="PERSON", help="who")

    def acting(name: str, handler, text: str) -> argparse.ArgumentParser:
        parser = action(name, handler, text)
        parser.add_argument(
            "--as", dest="as_user", required=True, metavar="PERSON", help="who acts"
        )
        return parser

    from toolkit.governance import CIRCUMSTANCES
    from toolkit.governance.migrations import REASON_CODES, ROLES
    from toolkit.governance.workflows import VIEWS

    person = acting("person", _person, "register a person with their roles")
    person.add_argument("person_id", metavar="ID")
    person.add_argument("--name", required=True)
    person.add_argument("--role", action="append", required=True, choices=sorted(ROLES))
    person.add_argument("--team", help="the team they belong to")
    person.add_argument("--vendor", help="the vendor they represent")
    propose = acting("propose", _propose, "propose an adjustment of a team's award")
    propose.add_argument("--team", required=True)
    propose.add_argument("--period", required=True, help="plan period, e.g. 2026Q1")
    propose.add_argument("--amount", required=True, type=_money, help="change in money")
    propose.add_argument("--reason", required=True, choices=sorted(REASON_CODES))
    propose.add_argument("--evidence", required=True, help="what supports it")
    propose.add_argument("--beneficiary", help="the person it pays, if one person")
    for name, handler, text in (
        ("approve", _approve, "sign an adjustment for one of its open role groups"),
        ("reject", _reject, "reject an adjustment, with the reason"),
    ):
        sign = acting(name, handler, text)
        sign.add_argument("adjustment", type=int, metavar="N")
        sign.add_argument("--comment", default="", required=name == "reject")
    statement = acting("statement", _statement, "issue a statement open to contest")
    statement.add_argument("--team", required=True)
    statement.add_argument("--period", required=True)
    statement.add_argument("--amount", required=True, type=_money)
    statement.add_argument("--window-days", required=True, type=int)
    statement.add_argument("--vendor", help="the vendor the statement concerns")
    statement.add_argument("--on", type=_day, help="date issued (default today)")
    contest = acting("contest", _contest, "contest a statement within its window")
    contest.add_argument("statement", type=int, metavar="N")
    contest.add_argument("--grounds", required=True)
    contest.add_argument("--on", type=_day, help="date filed (default today)")
    decide = acting("decide", _decide, "decide an open contest")
    decide.add_argument("contest", type=int, metavar="N")
    decide.add_argument("--outcome", required=True, choices=["upheld", "dismissed"])
    decide.add_argument("--reason", required=True)
    decide.add_argument("--on", type=_day, help="date decided (default today)")
    override = acting("override", _override, "propose a review-board override")
    override.add_argument("--team", required=True)
    override.add_argument("--period", required=True)
    override.add_argument("--amount", required=True, type=_money)
    override.add_argument("--circumstance", required=True, choices=CIRCUMSTANCES)
    override.add_argument("--description", required=True, help="the documented circumstance")
    override.add_argument("--quorum", required=True, type=int, help="approving votes needed")
    vote = acting("vote", _vote, "vote on an override")
    vote.add_argument("override", type=int, metavar="N")
    vote.add_argument("vote", choices=["approve", "reject"])
    show = acting("show", _show, "a table as you may see it (role-scoped, pseudonymised)")
    show.add_argument("view", choices=VIEWS)
    show.add_argument("--csv", metavar="FILE", help="write it as CSV instead")
    for name, handler, text in (
        ("agenda", _agenda, "the steering committee's open items as Markdown or HTML"),
        ("decisions", _decisions, "the decision log as Markdown or HTML"),
    ):
        document = acting(name, handler, text)
        document.add_argument("--out", required=True, metavar="FILE", help=".md or .html")
        if name == "agenda":
            document.add_argument("--on", type=_day, help="the meeting's date (default today)")
    settle = acting("settle", _settle, "a run's cash flows with the approved decisions paid in")
    settle.add_argument("run", metavar="RUN_DIR", help="a run directory with cashflows.parquet")
    settle.add_argument("--out", required=True, metavar="FILE", help="CSV to write")
    demo = action("demo", _demo, "write a worked example ledger into a new database")
    demo.add_argument("--batch", metavar="DIR", help="a batch whose teams and awards to use")
    demo.add_argument("--reference", default="no_incentive", help="the batch's reference plan")
    demo.add_argument("--checkpoint", metavar="FILE", help="also write the closing checkpoint")
    from toolkit.governance.workflows import RULES

    dispute = acting("dispute", _dispute, "file an attribution dispute, or one with a vendor")
    dispute.add_argument("--team", required=True)
    dispute.add_argument("--period", required=True)
    dispute.add_argument("--at-stake", required=True, type=_money, help="money at stake")
    dispute.add_argument("--rule", required=True, choices=RULES, help="the plan's attribution")
    dispute.add_argument(
        "--service", action="append", required=True, metavar="SERVICE=OWNER[,TEAM...]"
    )
    dispute.add_argument("--grounds", required=True)
    dispute.add_argument("--vendor", help="the vendor disputed with")
    position = acting("position", _position, "a party's position on settling a dispute")
    position.add_argument("dispute", type=int, metavar="N")
    position.add_argument("position", choices=["agree", "disagree"])
    position.add_argument("--outcome", default="", help="the settlement agreed to")
    decide_dispute = acting("decide-dispute", _decide_dispute, "decide an escalated dispute")
    decide_dispute.add_argument("dispute", type=int, metavar="N")
    decide_dispute.add_argument("--outcome", required=True)
    decide_dispute.add_argument("--reason", required=True)
    export = acting("export", _export, "every table you may see as CSV, with the audit log")
    export.add_argument("--out", required=True, metavar="DIR", help="a new or empty directory")
    export.add_argument("--force", action="store_true", help="replace files of an earlier export")
