"""The audit log on SQLite and PostgreSQL: a hash chain whose every tampering shows."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace

import pytest
from sqlalchemy import text

from toolkit.cli import main
from toolkit.governance import (
    LATEST,
    Checkpoint,
    GovernanceError,
    append,
    checkpoint,
    entries,
    open_engine,
    schema_version,
    verify,
)
from toolkit.governance.audit import FIELDS, entry_hash

COLUMNS = (*FIELDS, "hash")


def _filled(url: str, count: int = 8):
    engine = open_engine(url)
    for i in range(count):
        append(engine, f"person-{i % 3}", "test.entry", f"item:{i}", {"i": i, "share": i / 7})
    return engine


def _unguarded(engine) -> None:
    """Take away the append-only triggers, as someone with the database's rights could."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")


def _rows(engine) -> list[dict]:
    with engine.connect() as connection:
        result = connection.execute(
            text(f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY seq")
        )
        return [dict(row._mapping) for row in result]


def _rewrite(engine, rows: list[dict]) -> None:
    """Replace the whole table with these rows (positions as given)."""
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM audit_log")
        for row in rows:
            connection.execute(
                text(
                    f"INSERT INTO audit_log ({', '.join(COLUMNS)}) "
                    f"VALUES ({', '.join(':' + c for c in COLUMNS)})"
                ),
                row,
            )


def _rehash_one(rows: list[dict], index: int) -> None:
    """Chain one row to the row before it and recompute its hash."""
    rows[index]["prev_hash"] = rows[index - 1]["hash"] if index else "0" * 64
    content = {name: rows[index][name] for name in FIELDS}
    content["payload"] = json.loads(content["payload"])
    rows[index]["hash"] = entry_hash(content)


def _rehash(rows: list[dict], start: int) -> None:
    """Recompute every hash from position ``start`` on, as a careful forger would."""
    for index in range(start, len(rows)):
        _rehash_one(rows, index)


def test_an_untouched_log_verifies_and_migrates_once(database):
    engine = _filled(database)
    result = verify(engine)
    assert result.ok and result.count == 8 and result.first_bad is None
    assert schema_version(engine) == LATEST
    again = open_engine(database)  # opening again applies nothing twice
    assert schema_version(again) == LATEST and verify(again).count == 8
    with again.connect() as connection:
        applied = connection.execute(text("SELECT COUNT(*) FROM schema_version")).scalar()
    assert applied == LATEST


def test_the_database_itself_refuses_updates_and_deletes(database):
    engine = _filled(database, 2)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    assert verify(engine).ok and verify(engine).count == 2


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != "seq"])
def test_changing_any_field_of_an_entry_is_found_at_that_entry(database, column):
    engine = _filled(database)
    _unguarded(engine)
    rows = _rows(engine)
    value = rows[4][column]
    if column == "payload":
        rows[4][column] = json.dumps({**json.loads(value), "share": 0.99}, sort_keys=True)
    elif column in ("prev_hash", "hash"):
        rows[4][column] = ("f" if value[0] != "f" else "e") + value[1:]
    else:
        rows[4][column] = value + "x"
    _rewrite(engine, rows)
    result = verify(engine)
    assert not result.ok and result.first_bad == 5, result
    assert result.count == 4  # entries 1..4 are still good


def test_a_changed_entry_with_its_hash_recomputed_breaks_the_next_link(database):
    engine = _filled(database)
    _unguarded(engine)
    rows = _rows(engine)
    rows[2]["actor"] = "someone-else"
    _rehash_one(rows, 2)  # entry 3 consistent in itself, its followers untouched
    _rewrite(engine, rows)
    result = verify(engine)
    assert not result.ok and result.first_bad == 4 and "does not follow entry 3" in result.reason


def test_deleted_inserted_and_reordered_entries_are_found(database):
    engine = _filled(database)
    _unguarded(engine)
    original = _rows(engine)

    deleted = [row for row in original if row["seq"] != 3]
    _rewrite(engine, deleted)
    result = verify(engine)
    assert (result.ok, result.first_bad) == (False, 3) and "missing" in result.reason

    renumbered = [dict(row, seq=i + 1) for i, row in enumerate(deleted)]
    _rewrite(engine, renumbered)
    assert verify(engine).first_bad == 3

    forged = dict(original[3], actor="forger", payload='{"i":99}')
    later = [dict(row, seq=row["seq"] + 1) for row in original[3:]]
    inserted = [dict(row) for row in original[:3]] + [forged] + later
    _rehash_one(inserted, 3)  # the forged entry 4 chains to entry 3
    _rewrite(engine, inserted)
    result = verify(engine)
    assert not result.ok and result.first_bad == 5  # the forged entry chains; its follower not

    swapped = [dict(row) for row in original]
    for column in COLUMNS[1:]:
        swapped[3][column], swapped[4][column] = original[4][column], original[3][column]
    _rewrite(engine, swapped)
    result = verify(engine)
    assert not result.ok and result.first_bad == 4


def test_truncation_and_a_rewritten_suffix_show_only_against_a_checkpoint(database, tmp_path):
    engine = _filled(database)
    signed = checkpoint(engine, "cfo")
    assert (signed.count, signed.signed_by) == (8, "cfo")
    kept = Checkpoint.load(signed.save(tmp_path / "checkpoint.json"))
    assert kept == signed
    assert verify(engine, kept).ok and verify(engine, kept).count == 9  # the checkpoint's entry
    _unguarded(engine)
    original = _rows(engine)

    _rewrite(engine, original[:6])
    assert verify(engine).ok  # a shorter chain is still a chain
    truncated = verify(engine, kept)
    assert not truncated.ok and truncated.first_bad == 7 and "truncated" in truncated.reason

    rewritten = [dict(row) for row in original]
    rewritten[5]["payload"] = '{"i":5,"share":0.0}'
    _rehash(rewritten, 5)
    _rewrite(engine, rewritten)
    assert verify(engine).ok  # consistent forgery: invisible without a checkpoint
    caught = verify(engine, kept)
    assert not caught.ok and caught.first_bad == 8 and "rewritten" in caught.reason


def _writer(url: str, worker: int, count: int) -> None:
    engine = open_engine(url)
    for i in range(count):
        append(engine, f"writer-{worker}", "test.concurrent", f"w{worker}:{i}", {"i": i})
    engine.dispose()


def test_concurrent_writers_never_fork_the_chain_and_lose_nothing(database):
    open_engine(database).dispose()  # migrated once, before the writers start
    context = multiprocessing.get_context("fork")  # inherits the imports
    writers = [context.Process(target=_writer, args=(database, w, 250)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
        assert process.exitcode == 0
    engine = open_engine(database)
    result = verify(engine)
    assert result.ok and result.count == 1_000, result
    subjects = sorted(entry.subject for entry in entries(engine))
    assert subjects == sorted(f"w{w}:{i}" for w in range(4) for i in range(250))


def test_bad_payloads_and_checkpoints_are_refused(database, tmp_path):
    engine = _filled(database, 1)
    with pytest.raises(GovernanceError, match=r"payload.share: nan"):
        append(engine, "anna", "test.entry", "item:x", {"share": float("nan")})
    with pytest.raises(GovernanceError, match="actor"):
        append(engine, " ", "test.entry", "item:x")
    assert verify(engine).count == 1  # nothing half-written
    signed = checkpoint(engine, "cfo")
    for name, data in {
        "format": {**signed.__dict__, "format": "other"},
        "extra": {**signed.__dict__, "note": "x"},
        "count": {**signed.__dict__, "count": -1},
        "head": {**signed.__dict__, "head": "xyz"},
    }.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        with pytest.raises(GovernanceError, match=str(path)):
            Checkpoint.load(path)
    forged = replace(signed, head="a" * 64)
    assert not verify(engine, forged).ok


def test_a_database_from_a_newer_toolkit_is_refused(database):
    engine = open_engine(database)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO schema_version VALUES (:v, 'future', 'now')"), {"v": LATEST + 1}
        )
    with pytest.raises(GovernanceError, match="newer than this toolkit"):
        open_engine(database)


def test_cli_records_inputs_verifies_and_says_when_tampered(tmp_path, capsys):
    db = tmp_path / "gov.db"
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"command": "simulate", "seed": 3}))
    assert main(["gov", "init", "--db", str(db)]) == 0
    assert main(["gov", "record", str(run), "--db", str(db), "--as", "hr-anna"]) == 0
    point = tmp_path / "checkpoint.json"
    assert main(["gov", "checkpoint", "--db", str(db), "--as", "cfo", "--out", str(point)]) == 0
    assert main(["gov", "verify", "--db", str(db), "--checkpoint", str(point)]) == 0
    assert main(["gov", "log", "--db", str(db), "--json"]) == 0
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    assert [e["action"] for e in logged[-2:]] == ["input.simulate", "audit.checkpoint"]
    assert logged[-2]["payload"]["manifest"] == {"command": "simulate", "seed": 3}

    engine = open_engine(db)
    _unguarded(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    assert main(["gov", "verify", "--db", str(db)]) == 1
    assert "broken at entry 1" in capsys.readouterr().out

    for argv, message in [
        (["gov", "record", str(tmp_path), "--db", str(db), "--as", "x"], "no readable manifest"),
        (["gov", "verify", "--db", str(db), "--checkpoint", str(run / "manifest.json")], "not an"),
        (["gov", "init", "--db", str(tmp_path / "no" / "gov.db")], "does not exist"),
        (["gov", "init", "--db", "mysql://host/db"], "not supported"),
        (["gov", "checkpoint", "--db", str(db), "--as", "x", "--out", str(point)], "exists"),
    ]:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err


def test_cli_without_a_database_names_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("LTI_GOV_DB", raising=False)
    assert main(["gov", "log"]) == 2
    assert "LTI_GOV_DB" in capsys.readouterr().err
