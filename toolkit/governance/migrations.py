"""Versioned schema migrations of the governance database.

Each migration has a number, a description and the statements that take the schema from the
previous version to its own, per database dialect. ``schema_version`` records every migration
applied and when; opening a database applies the missing ones in order inside the writer lock, so
two processes opening a new database at once do not both migrate it. A database whose version is
newer than this toolkit knows is refused rather than written by older code.

The audit log is append-only in the database itself: triggers refuse any update or delete, so a
rewrite needs someone who can drop triggers, and the hash chain shows what they did
(:mod:`toolkit.governance.audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, text

from toolkit.governance.database import writing
from toolkit.governance.errors import GovernanceError

AUDIT_TABLE = """
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash CHAR(64) NOT NULL,
    hash CHAR(64) NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its number, what it does, and its statements per dialect."""

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        """Return the statements for a dialect (``sqlite`` or ``postgresql``)."""
        return self.sqlite if dialect == "sqlite" else self.postgresql


MIGRATIONS = (
    Migration(
        1,
        "append-only audit log with a hash chain",
        sqlite=(
            AUDIT_TABLE,
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        ),
        postgresql=(
            AUDIT_TABLE,
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
        ),
    ),
)

# Roles and what each may do are data: editable rows, seeded here with the usual split of duties.
ROLES = {
    "hr": "HR: proposes and co-approves adjustments, sees people",
    "it_governance": "IT governance: co-approves adjustments, issues statements",
    "finance": "finance: sees all incentive data, proposes adjustments",
    "cfo": "CFO: approves large adjustments, edits the routing table",
    "cio": "CIO: approves large adjustments",
    "review_board": "review-board member: votes on overrides, decides contests and disputes",
    "team_lead": "team lead: sees and contests their own team's statements",
    "auditor": "auditor: sees everything, signs checkpoints, changes nothing",
    "vendor_rep": "vendor representative: sees and contests only the vendor's own disputes",
}
PERMISSIONS_V2 = {  # as migration 2 seeded them; never edited, later grants come as migrations
    "hr": ("propose", "approve", "view_all", "view_identities", "manage_people"),
    "it_governance": ("propose", "approve", "issue_statement", "view_all"),
    "finance": ("propose", "view_all"),
    "cfo": ("approve", "view_all", "view_identities", "edit_routing"),
    "cio": ("approve", "view_all", "view_identities"),
    "review_board": ("vote_override", "propose_override", "decide_contest", "view_all"),
    "team_lead": ("contest", "view_team"),
    "auditor": ("view_all", "view_identities", "checkpoint", "export"),
    "vendor_rep": ("contest", "view_vendor"),
}
# Routing by money at stake: from each amount up, every group must be signed by one of its roles.
ROUTING = (
    (0.0, (("hr",), ("it_governance",))),
    (10_000.0, (("cfo", "cio"),)),
    (50_000.0, (("cfo",), ("cio",))),
)
REASON_CODES = {
    "data_error": "the measured data were wrong (evidence: the corrected records)",
    "outage_beyond_control": "an outage the team could not prevent or shorten",
    "scope_change": "the team's services or staffing changed during the period",
    "misattribution": "incidents were attributed to the wrong team or cause",
    "extraordinary_event": "merger, regulatory incident or another extraordinary circumstance",
}
WORKFLOW_TABLES = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE roles (role TEXT PRIMARY KEY, description TEXT NOT NULL)",
    "CREATE TABLE permissions (role TEXT NOT NULL REFERENCES roles(role), "
    "permission TEXT NOT NULL, PRIMARY KEY (role, permission))",
    "CREATE TABLE people (person_id TEXT PRIMARY KEY, name TEXT NOT NULL, team_id TEXT, "
    "vendor_id TEXT)",
    "CREATE TABLE person_roles (person_id TEXT NOT NULL REFERENCES people(person_id), "
    "role TEXT NOT NULL REFERENCES roles(role), PRIMARY KEY (person_id, role))",
    "CREATE TABLE routing (from_amount DOUBLE PRECISION PRIMARY KEY, groups TEXT NOT NULL)",
    "CREATE TABLE reason_codes (code TEXT PRIMARY KEY, description TEXT NOT NULL)",
    "CREATE TABLE adjustments (adjustment_id BIGINT PRIMARY KEY, team_id TEXT NOT NULL, "
    "period TEXT NOT NULL, beneficiary TEXT, amount DOUBLE PRECISION NOT NULL, "
    "reason_code TEXT NOT NULL REFERENCES reason_codes(code), evidence TEXT NOT NULL, "
    "proposed_by TEXT NOT NULL REFERENCES people(person_id), proposed_at TEXT NOT NULL, "
    "groups TEXT NOT NULL, status TEXT NOT NULL, decided_at TEXT)",
    "CREATE TABLE approvals (adjustment_id BIGINT NOT NULL REFERENCES adjustments(adjustment_id), "
    "person_id TEXT NOT NULL REFERENCES people(person_id), role TEXT NOT NULL, "
    "decision TEXT NOT NULL, comment TEXT NOT NULL, decided_at TEXT NOT NULL, "
    "PRIMARY KEY (adjustment_id, person_id))",
    "CREATE TABLE statements (statement_id BIGINT PRIMARY KEY, team_id TEXT NOT NULL, "
    "vendor_id TEXT, period TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL, "
    "issued_by TEXT NOT NULL REFERENCES people(person_id), issued_on TEXT NOT NULL, "
    "window_days INTEGER NOT NULL)",
    "CREATE TABLE contests (contest_id BIGINT PRIMARY KEY, "
    "statement_id BIGINT NOT NULL REFERENCES statements(statement_id), "
    "filed_by TEXT NOT NULL REFERENCES people(person_id), filed_on TEXT NOT NULL, "
    "grounds TEXT NOT NULL, status TEXT NOT NULL, decided_by TEXT, decision TEXT, "
    "decided_on TEXT)",
    "CREATE TABLE overrides (override_id BIGINT PRIMARY KEY, team_id TEXT NOT NULL, "
    "period TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL, circumstance TEXT NOT NULL, "
    "description TEXT NOT NULL, proposed_by TEXT NOT NULL REFERENCES people(person_id), "
    "proposed_at TEXT NOT NULL, quorum INTEGER NOT NULL, board_size INTEGER NOT NULL, "
    "status TEXT NOT NULL, decided_at TEXT)",
    "CREATE TABLE override_votes (override_id BIGINT NOT NULL REFERENCES overrides(override_id), "
    "person_id TEXT NOT NULL REFERENCES people(person_id), vote TEXT NOT NULL, "
    "voted_at TEXT NOT NULL, PRIMARY KEY (override_id, person_id))",
)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _seed_rows() -> tuple[str, ...]:
    import json

    rows = [f"INSERT INTO roles VALUES ({_quoted(r)}, {_quoted(d)})" for r, d in ROLES.items()]
    rows += [
        f"INSERT INTO permissions VALUES ({_quoted(role)}, {_quoted(permission)})"
        for role, permissions in PERMISSIONS_V2.items()
        for permission in permissions
    ]
    rows += [
        f"INSERT INTO routing VALUES ({amount}, {_quoted(json.dumps([list(g) for g in groups]))})"
        for amount, groups in ROUTING
    ]
    rows += [
        f"INSERT INTO reason_codes VALUES ({_quoted(c)}, {_quoted(d)})"
        for c, d in REASON_CODES.items()
    ]
    return tuple(rows)


MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        2,
        "people, roles and permissions; routing; adjustments, statements, contests, overrides",
        sqlite=WORKFLOW_TABLES + _seed_rows(),
        postgresql=WORKFLOW_TABLES + _seed_rows(),
    ),
)
GRANTS_V3 = (
    ("team_lead", "dispute"),
    ("vendor_rep", "dispute"),
    ("review_board", "decide_dispute"),
    ("hr", "decide_dispute"),
    ("vendor_rep", "decide_dispute"),
)
# the permissions as the newest migration leaves them
PERMISSIONS = {
    role: (*rights, *(right for grantee, right in GRANTS_V3 if grantee == role))
    for role, rights in PERMISSIONS_V2.items()
}
DISPUTE_TABLES = (
    "CREATE TABLE disputes (dispute_id BIGINT PRIMARY KEY, kind TEXT NOT NULL, "
    "team_id TEXT NOT NULL, period TEXT NOT NULL, services TEXT NOT NULL, vendor_id TEXT, "
    "rule TEXT NOT NULL, at_stake DOUBLE PRECISION NOT NULL, parties TEXT NOT NULL, "
    "filed_by TEXT NOT NULL REFERENCES people(person_id), filed_at TEXT NOT NULL, "
    "grounds TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT, decided_by TEXT, "
    "decision TEXT, decided_at TEXT)",
    "CREATE TABLE dispute_positions (dispute_id BIGINT NOT NULL "
    "REFERENCES disputes(dispute_id), person_id TEXT NOT NULL REFERENCES people(person_id), "
    "party TEXT NOT NULL, position TEXT NOT NULL, outcome TEXT, taken_at TEXT NOT NULL, "
    "PRIMARY KEY (dispute_id, person_id))",
    *(f"INSERT INTO permissions VALUES ('{role}', '{right}')" for role, right in GRANTS_V3),
)
MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        3,
        "attribution disputes on shared services and disputes with vendors",
        sqlite=DISPUTE_TABLES,
        postgresql=DISPUTE_TABLES,
    ),
)
LATEST = MIGRATIONS[-1].version


def schema_version(engine: Engine) -> int:
    """Return the schema version of a database (0 for an empty one).

    Parameters
    ----------
    engine : Engine
        An engine on the database.

    Returns
    -------
    int
        The highest migration applied.
    """
    if not inspect(engine).has_table("schema_version"):
        return 0
    with engine.connect() as connection:
        return int(
            connection.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
        )


def migrate(engine: Engine) -> int:
    """Apply every migration the database lacks, in order, and return its version.

    Parameters
    ----------
    engine : Engine
        An engine from :func:`toolkit.governance.database.open_engine`.

    Returns
    -------
    int
        The schema version now (:data:`LATEST`).

    Raises
    ------
    GovernanceError
        When the database was written by a newer toolkit.
    """
    with writing(engine) as connection:
        connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = int(
            connection.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
        )
        if current > LATEST:
            raise GovernanceError(
                f"the governance database has schema version {current}, newer than this "
                f"toolkit's {LATEST}: upgrade the toolkit"
            )
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            for statement in migration.statements(connection.dialect.name):
                connection.exec_driver_sql(statement)
            connection.execute(
                text("INSERT INTO schema_version VALUES (:version, :description, :applied_at)"),
                {
                    "version": migration.version,
                    "description": migration.description,
                    "applied_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
    return LATEST
