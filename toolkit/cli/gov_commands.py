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


def _engine(args: argparse.Namespace):
    from toolkit.governance import GovernanceError, open_engine

    try:
        return open_engine(args.db)
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

    engine = _engine(args)
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
