"""Governance: who may change an outcome, who approves it, and proof nobody rewrote the record.

Backed by a real database (:mod:`toolkit.governance.database`: SQLite by default, PostgreSQL for
a team) with versioned migrations (:mod:`toolkit.governance.migrations`) and an append-only,
hash-chained audit log (:mod:`toolkit.governance.audit`).
"""

from toolkit.governance.audit import (
    Checkpoint,
    Entry,
    Verification,
    append,
    canonical_json,
    checkpoint,
    entries,
    verify,
)
from toolkit.governance.database import open_engine
from toolkit.governance.errors import GovernanceError
from toolkit.governance.migrations import LATEST, schema_version
from toolkit.governance.workflows import CIRCUMSTANCES, Governance, RefusedError

__all__ = [
    "CIRCUMSTANCES",
    "LATEST",
    "Checkpoint",
    "Entry",
    "Governance",
    "GovernanceError",
    "RefusedError",
    "Verification",
    "append",
    "canonical_json",
    "checkpoint",
    "entries",
    "open_engine",
    "schema_version",
    "verify",
]
