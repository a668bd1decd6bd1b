"""Record in the audit log the inputs a calculation used: the manifest of a run, batch or ingest.

Every ``lti simulate``, ``lti ingest`` and ``lti batch`` result carries a ``manifest.json`` with
the fingerprints of its scenario, plans, exports and outputs. Recording it makes the log prove
later which inputs an award was computed from: the entry holds the whole manifest and the
SHA-256 of the file as written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import Engine

from toolkit.governance.audit import Entry, append
from toolkit.governance.errors import GovernanceError

MANIFEST = "manifest.json"  # written beside every lti result (toolkit.run.outputs)


def record_inputs(engine: Engine, actor: str, directory: str | Path) -> Entry:
    """Append an ``input.<command>`` entry holding a result directory's manifest.

    Parameters
    ----------
    engine : Engine
        The governance database.
    actor : str
        Who records it.
    directory : str or Path
        A directory written by ``lti simulate``, ``lti ingest`` or ``lti batch``.

    Returns
    -------
    Entry
        The entry; its payload has ``manifest`` and ``manifest_sha256``.

    Raises
    ------
    GovernanceError
        When the directory holds no readable manifest.
    """
    path = Path(directory) / MANIFEST
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise GovernanceError(f"{path}: no readable manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("command"), str):
        raise GovernanceError(f"{path}: not the manifest of an lti result (no 'command')")
    payload = {"manifest": manifest, "manifest_sha256": hashlib.sha256(raw).hexdigest()}
    return append(engine, actor, f"input.{manifest['command']}", str(Path(directory)), payload)
