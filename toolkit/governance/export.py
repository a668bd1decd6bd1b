"""Export a ledger as the actor may see it: every view as CSV, the audit log, its verification.

What is exported follows the actor's rights (:meth:`Governance.view`): an auditor gets every
table, a team lead their team's rows, a vendor its own; people's ids are pseudonymised for
anyone without the right to identities, and the audit log is exported only to those who may
see everything. The export is itself an audit entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from toolkit.governance.audit import append, entries, verify
from toolkit.governance.errors import GovernanceError
from toolkit.governance.workflows import VIEWS, Governance

MANIFEST = "export.json"


def export_ledger(gov: Governance, actor: str, out: str | Path, force: bool = False) -> list[Path]:
    """Write the views the actor may see into ``out`` and record the export.

    Parameters
    ----------
    gov : Governance
        The ledger.
    actor : str
        Who exports (views are scoped and pseudonymised by their rights).
    out : str or Path
        A new or empty directory (or an earlier export's, with ``force``).
    force : bool
        Replace an earlier export's files.

    Returns
    -------
    list of Path
        The files written: ``<view>.csv`` for each view the actor may see,
        ``audit_log.jsonl`` for those who see everything, and ``export.json``.

    Raises
    ------
    GovernanceError
        For an output that is a file, holds other files, or an actor who may see nothing.
    """
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise GovernanceError(f"{target}: is a file, not a directory")
    earlier = force and (target / MANIFEST).is_file()
    if target.is_dir() and any(target.iterdir()) and not earlier:
        raise GovernanceError(
            f"{target}: is not empty; choose a new directory (or --force over an export)"
        )
    readable = {view: gov.view(actor, view) for view in VIEWS if gov.may_view(actor, view)}
    if not readable:
        reason = f"{actor} may see nothing to export"
        append(gov.engine, actor, "refused.export", f"export:{target.name}", {"reason": reason})
        raise GovernanceError(reason)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for view, table in readable.items():
        written.append(_write(target / f"{view}.csv", table.to_csv(index=False)))
    sees_all = set(readable) == set(VIEWS)
    if sees_all:
        lines = [
            json.dumps({**e.content(), "hash": e.hash}, ensure_ascii=False)
            for e in entries(gov.engine)
        ]
        written.append(_write(target / "audit_log.jsonl", "\n".join(lines) + "\n"))
    result = verify(gov.engine)
    record = {
        "exported_by": actor,
        "views": sorted(readable),
        "audit_log": sees_all,
        "verification": str(result),
        "entries": result.count,
        "head": result.head,
    }
    append(gov.engine, actor, "ledger.exported", f"export:{target.name}", record)
    written.append(_write(target / MANIFEST, json.dumps(record, indent=2) + "\n"))
    return written


def _write(path: Path, text: str) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path
