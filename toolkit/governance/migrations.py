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
