"""The governance database: one SQLite file by default, PostgreSQL for a team.

Governance records outlive any run and are shared by the people who act on them, so they live in
a real database reached through SQLAlchemy. A plain path means an SQLite file; a URL
(``postgresql://user@host/db``) a server several people share. Opening a database brings its
schema to the newest version (:mod:`toolkit.governance.migrations`).

Writers serialise on a database lock held for the whole of an append (``BEGIN IMMEDIATE`` on
SQLite, a transaction-level advisory lock on PostgreSQL), so several processes appending at once
never read the same head of the audit chain; readers take no lock and read a snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from toolkit.governance.errors import GovernanceError

DATABASE_VARIABLE = "LTI_GOV_DB"
WRITER_LOCK_KEY = 5_381_735  # the advisory lock every PostgreSQL writer takes
SQLITE_BUSY_SECONDS = 60
WRITER_OPTION = "lti_governance_writer"  # marks the connections of writing()


def database_url(target: str | Path | None) -> str:
    """Return the SQLAlchemy URL for a path, a URL, or the ``LTI_GOV_DB`` environment variable.

    Parameters
    ----------
    target : str, Path or None
        An SQLite file's path, an SQLAlchemy URL, or None for ``$LTI_GOV_DB``.

    Returns
    -------
    str
        The URL; PostgreSQL URLs without a driver get psycopg (version 3).

    Raises
    ------
    GovernanceError
        When no database is named or a URL cannot be read.
    """
    if target is None:
        target = os.environ.get(DATABASE_VARIABLE)
        if not target:
            raise GovernanceError(
                f"no governance database: give --db FILE (or a URL) or set {DATABASE_VARIABLE}"
            )
    text = str(target)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise GovernanceError(f"{text!r} is not a database URL: {exc}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise GovernanceError(
            f"{url.get_backend_name()!r} databases are not supported: use SQLite or PostgreSQL"
        )
    return url.render_as_string(hide_password=False)


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        parent = Path(path).parent
        if not parent.is_dir():
            raise GovernanceError(f"{path}: the directory {parent} does not exist")
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions begin where we say
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # writers take the write lock before their first read; readers read a snapshot
        writer = connection.get_execution_options().get(WRITER_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def open_engine(target: str | Path | None) -> Engine:
    """Open (and migrate) the governance database.

    Parameters
    ----------
    target : str, Path or None
        See :func:`database_url`.

    Returns
    -------
    Engine
        An engine whose ``begin()`` transactions hold the writer lock.

    Raises
    ------
    GovernanceError
        When the database cannot be reached or its schema is newer than this toolkit.
    """
    from toolkit.governance.migrations import migrate

    url = database_url(target)
    try:
        if url.startswith("sqlite"):
            engine = _sqlite_engine(url)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        migrate(engine)
    except NoSuchModuleError as exc:
        raise GovernanceError(f"no database driver for {url.split(':')[0]}: {exc}") from None
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise GovernanceError(f"cannot open the governance database: {reason}") from None
    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in a transaction that holds the database's writer lock.

    Parameters
    ----------
    engine : Engine
        From :func:`open_engine`.

    Returns
    -------
    Iterator[Connection]
        The connection; the transaction commits when the block ends without an error.
    """
    with engine.connect() as connection:
        connection.execution_options(**{WRITER_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")
            yield connection
