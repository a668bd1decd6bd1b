"""The append-only, tamper-evident audit log: a hash chain over every entry's whole content.

Every governance action, and every input a calculation used, is an entry. Its hash is the
SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of *all* its fields — position,
time, actor, action, subject, payload and the previous entry's hash — so changing any field of
any entry, deleting, inserting or reordering entries breaks the chain at the first entry
affected. A consistent rewrite of a whole suffix (every later hash recomputed) leaves a valid
chain; only a checkpoint kept elsewhere shows it, as it shows a truncation: a checkpoint records
the entry count and the head hash at a moment someone signed off (RFC 9162's signed tree head,
in the form of a chain). :func:`verify` names the first bad entry and why.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from toolkit.governance.database import writing
from toolkit.governance.errors import GovernanceError

GENESIS = "0" * 64  # the previous hash of the first entry
CHECKPOINT_FORMAT = "lti-audit-checkpoint/1"
FIELDS = ("seq", "recorded_at", "actor", "action", "subject", "payload", "prev_hash")


def _finite(value: Any, path: str = "payload") -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise GovernanceError(f"{path}: {value} is not a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise GovernanceError(f"{path}: key {key!r} is not text")
            _finite(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _finite(item, f"{path}[{index}]")


def canonical_json(value: Any) -> str:
    """Return the one JSON text of a value: sorted keys, no spaces, no escapes of non-ASCII.

    Parameters
    ----------
    value : object
        JSON-compatible data (mappings with text keys, lists, text, finite numbers, booleans,
        None).

    Returns
    -------
    str
        The canonical text; equal data give equal text.

    Raises
    ------
    GovernanceError
        For non-finite numbers or keys that are not text (JSON has neither).
    """
    _finite(value)
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except TypeError as exc:
        raise GovernanceError(f"payload: {exc}") from None


@dataclass(frozen=True)
class Entry:
    """One audit entry as stored: its fields, its previous hash and its own hash."""

    seq: int
    recorded_at: str
    actor: str
    action: str
    subject: str
    payload: dict
    prev_hash: str
    hash: str

    def content(self) -> dict:
        """Return every field the hash covers."""
        return {name: getattr(self, name) for name in FIELDS}

    def expected_hash(self) -> str:
        """Return the hash this entry's content and previous hash give."""
        return entry_hash(self.content())


def entry_hash(content: Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of an entry's canonical JSON content.

    Parameters
    ----------
    content : mapping
        The entry's fields :data:`FIELDS`, the previous hash included.

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(canonical_json(dict(content)).encode("utf-8")).hexdigest()


def _row_entry(row) -> Entry:
    return Entry(
        seq=int(row.seq),
        recorded_at=row.recorded_at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash.strip(),
        hash=row.hash.strip(),
    )


def _head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(
        text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    ).first()
    return (0, GENESIS) if row is None else (int(row.seq), row.hash.strip())


def append_entry(
    connection: Connection, actor: str, action: str, subject: str, payload: Mapping | None = None
) -> Entry:
    """Append one entry inside a transaction that holds the writer lock.

    Workflows call this in the same transaction as the change it records, so a change is never
    kept without its entry, nor an entry without its change.

    Parameters
    ----------
    connection : Connection
        A connection from :func:`toolkit.governance.database.writing`.
    actor : str
        Who acted (a person's id, or ``system``).
    action : str
        What was done, e.g. ``adjustment.proposed`` or ``refused.approve``.
    subject : str
        What it was done to, e.g. ``adjustment:7``.
    payload : mapping, optional
        The details, as JSON-compatible data.

    Returns
    -------
    Entry
        The entry as stored.
    """
    for name, value in (("actor", actor), ("action", action), ("subject", subject)):
        if not isinstance(value, str) or not value.strip():
            raise GovernanceError(f"{name}: an audit entry needs a non-empty text")
    body = dict(payload or {})
    payload_text = canonical_json(body)
    seq, previous = _head(connection)
    content = {
        "seq": seq + 1,
        "recorded_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": json.loads(payload_text),
        "prev_hash": previous,
    }
    digest = entry_hash(content)
    connection.execute(
        text(
            "INSERT INTO audit_log (seq, recorded_at, actor, action, subject, payload, "
            "prev_hash, hash) VALUES (:seq, :recorded_at, :actor, :action, :subject, "
            ":payload, :prev_hash, :hash)"
        ),
        {**content, "payload": payload_text, "hash": digest},
    )
    return Entry(**content, hash=digest)


def append(
    engine: Engine, actor: str, action: str, subject: str, payload: Mapping | None = None
) -> Entry:
    """Append one entry in its own transaction (see :func:`append_entry`).

    Parameters
    ----------
    engine : Engine
        The governance database.
    actor, action, subject : str
        Who did what to what.
    payload : mapping, optional
        The details.

    Returns
    -------
    Entry
        The entry as stored.

    Examples
    --------
    >>> engine = open_engine("governance.db")  # doctest: +SKIP
    >>> append(engine, "hr-anna", "input.batch", "batch:demo", {"fingerprint": "ab12"})
    ... # doctest: +SKIP
    """
    with writing(engine) as connection:
        return append_entry(connection, actor, action, subject, payload)


def entries(engine: Engine, since: int = 0) -> Iterator[Entry]:
    """Yield the log's entries in order of position, from ``since + 1`` on.

    Parameters
    ----------
    engine : Engine
        The governance database.
    since : int
        Skip the entries up to this position.

    Returns
    -------
    Iterator[Entry]
        The entries as stored (hashes not checked: that is :func:`verify`).
    """
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True).execute(
            text(
                f"SELECT {', '.join(FIELDS)}, hash FROM audit_log WHERE seq > :since ORDER BY seq"
            ),
            {"since": since},
        )
        for row in result:
            yield _row_entry(row)


@dataclass(frozen=True)
class Checkpoint:
    """A signed-off view of the log: how many entries it held and its head hash."""

    count: int
    head: str
    signed_by: str
    signed_at: str
    format: str = CHECKPOINT_FORMAT

    def save(self, path: str | Path) -> Path:
        """Write the checkpoint as JSON (to keep elsewhere) and return the path."""
        target = Path(path)
        target.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        """Read a checkpoint file, refusing anything that is not one."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GovernanceError(f"{source}: not a readable checkpoint ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise GovernanceError(f"{source}: not an audit checkpoint ({CHECKPOINT_FORMAT})")
        wrong = set(data) ^ {"count", "head", "signed_by", "signed_at", "format"}
        if wrong:
            raise GovernanceError(f"{source}: unexpected or missing fields {sorted(wrong)}")
        if not isinstance(data["count"], int) or data["count"] < 0:
            raise GovernanceError(f"{source}: count must be a whole number >= 0")
        head = data["head"]
        if not (isinstance(head, str) and len(head) == 64 and set(head) <= set("0123456789abcdef")):
            raise GovernanceError(f"{source}: head must be 64 hex digits")
        return cls(**data)


def checkpoint(engine: Engine, signed_by: str) -> Checkpoint:
    """Sign off the log as it stands: its count and head, and an entry saying so.

    The checkpoint covers the entries before its own ``audit.checkpoint`` entry, which records
    it in the log too; keep the returned checkpoint (:meth:`Checkpoint.save`) out of the
    database's reach.

    Parameters
    ----------
    engine : Engine
        The governance database.
    signed_by : str
        Who signs it off.

    Returns
    -------
    Checkpoint
        The count and head hash signed.
    """
    with writing(engine) as connection:
        count, head = _head(connection)
        signed = Checkpoint(count, head, signed_by, datetime.now(UTC).isoformat(timespec="seconds"))
        append_entry(connection, signed_by, "audit.checkpoint", f"log:{count}", asdict(signed))
    return signed


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: whether the log is intact, how far, and the first fault."""

    ok: bool
    count: int
    head: str
    first_bad: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.count} entries, head {self.head[:16]}"
        return f"audit log broken at entry {self.first_bad}: {self.reason}"


def verify(engine: Engine, against: Checkpoint | None = None) -> Verification:
    """Recompute the whole chain and compare it with a checkpoint.

    Parameters
    ----------
    engine : Engine
        The governance database.
    against : Checkpoint, optional
        A checkpoint kept elsewhere; without one, truncation and a consistent rewrite of a
        suffix cannot be seen.

    Returns
    -------
    Verification
        ``ok`` with the count and head, or the first bad entry's position and what is wrong.
    """
    expected_seq, previous = 1, GENESIS
    for entry in entries(engine):
        if entry.seq != expected_seq:
            what = "missing" if entry.seq > expected_seq else "out of order"
            return Verification(
                False,
                expected_seq - 1,
                previous,
                expected_seq,
                f"entry {expected_seq} is {what} (the next stored is {entry.seq})",
            )
        if entry.prev_hash != previous:
            return Verification(
                False,
                entry.seq - 1,
                previous,
                entry.seq,
                f"it does not follow entry {entry.seq - 1}: an entry was changed, deleted, "
                "inserted or moved here",
            )
        if entry.expected_hash() != entry.hash:
            return Verification(
                False,
                entry.seq - 1,
                previous,
                entry.seq,
                "its content does not match its hash: a field was changed",
            )
        if against is not None and entry.seq == against.count and entry.hash != against.head:
            return Verification(
                False,
                entry.seq - 1,
                previous,
                entry.seq,
                f"the log was rewritten: its hash differs from the checkpoint signed by "
                f"{against.signed_by} at {against.signed_at}",
            )
        expected_seq, previous = entry.seq + 1, entry.hash
    count = expected_seq - 1
    if against is not None and count < against.count:
        return Verification(
            False,
            count,
            previous,
            count + 1,
            f"the log holds {count} entries but the checkpoint signed by {against.signed_by} "
            f"at {against.signed_at} saw {against.count}: it was truncated",
        )
    if against is not None and against.count == 0 and against.head != GENESIS:
        return Verification(False, count, previous, 1, "the checkpoint's head is not the start")
    return Verification(True, count, previous)
