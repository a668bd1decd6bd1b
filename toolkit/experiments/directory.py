"""The batch directory: checked before work starts, locked while written, tables published whole.

A batch directory accumulates runs (its cache), so unlike a single run it is not replaced as a
whole. Instead:

* it is refused before any work if it is a file, cannot be written, or holds anything but a
  batch (another command's result, files no ``lti`` command wrote) unless the user forces it,
  in which case its contents are removed first;
* one batch at a time writes it: a second batch on the same directory is refused at once,
  naming the process that holds it (an exclusive ``flock`` on ``.lti-batch.lock`` inside it);
* the batch tables are written to a staging directory inside it and renamed into place, the
  manifest (with the hash of every table) last, so a reader sees the old tables with their
  manifest, or the new ones with theirs, and never a mixture without a manifest to trust.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from toolkit.run.manifest import write_manifest
from toolkit.run.outputs import MANIFEST, OutputError, check_output_dir, finite

LOCK = ".lti-batch.lock"
STAGING = ".staging-"
RUNS = "runs"
RUN_STAGING = ".tmp-"
TABLES = (
    "runs.parquet",
    "summary.parquet",
    "comparisons.parquet",
    "ranking.parquet",
    "vendors.parquet",
    "vendor_behaviour.parquet",
    "penalty_split.parquet",
)
RECORD = "batch.json"
PUBLISHED = (*TABLES, RECORD)


def _unfinished_batch(out: Path) -> bool:
    """Whether ``out`` is a batch stopped before its first tables: lock and runs, no manifest."""
    if not out.is_dir() or not (out / LOCK).is_file() or (out / MANIFEST).exists():
        return False
    known = {LOCK, RUNS, *PUBLISHED}
    return all(p.name in known or p.name.startswith(STAGING) for p in out.iterdir())


def _clear(out: Path) -> None:
    """Remove everything inside ``out`` but the lock, never following a link out of it."""
    for entry in out.iterdir():
        if entry.name == LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def sweep_staging(out: Path) -> None:
    """Remove the staging of tables and runs cut short; only the lock holder may call this.

    Parameters
    ----------
    out : Path
        The locked batch directory; finished runs stay.
    """
    for stale in [*out.glob(f"{STAGING}*"), *out.glob(f"{RUNS}/*/*/*{RUN_STAGING}*")]:
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the batch lock of ``out``, or refuse at once naming the process that holds it."""
    handle = open(out / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise OutputError(
                f"{out}: another `lti batch` (pid {holder}) is writing this directory; wait for "
                "it to finish or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


@contextmanager
def batch_directory(out: str | Path, force: bool = False) -> Iterator[Path]:
    """Check, create and lock a batch directory for the duration of the block.

    Parameters
    ----------
    out : str or Path
        The batch directory (``--out``).
    force : bool
        Remove whatever else the directory holds instead of refusing it.

    Yields
    ------
    Path
        The directory, locked against other batches, with stale staging removed.

    Raises
    ------
    OutputError
        If ``out`` is a file or not writable, holds something other than a batch (without
        ``force``), or another batch holds its lock.
    """
    out = Path(out)
    try:
        check_output_dir(out, "batch", force=_unfinished_batch(out))
        replace = False
    except OutputError:
        if not force:
            raise
        check_output_dir(out, "batch", force=True)  # a file or an unwritable path stays refused
        replace = True
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        if replace:
            _clear(out)
        sweep_staging(out)
        yield out


def publish(out: Path, write: Callable[[Path], None], record: dict) -> Path:
    """Write the batch tables through a staging directory, the manifest last.

    Parameters
    ----------
    out : Path
        The locked batch directory.
    write : callable
        Writes the tables and ``batch.json`` into the directory it is given.
    record : dict
        The manifest's content besides versions and output hashes; non-finite numbers
        become null.

    Returns
    -------
    Path
        The manifest written.
    """
    staging = out / f"{STAGING}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        write(staging)
        files = sorted(p for p in staging.iterdir() if p.name in PUBLISHED)
        write_manifest(staging, finite(record), files)
        (out / MANIFEST).unlink(missing_ok=True)
        for path in files:
            os.replace(path, out / path.name)
        for name in set(PUBLISHED) - {p.name for p in files}:  # left by an earlier batch
            (out / name).unlink(missing_ok=True)
        os.replace(staging / MANIFEST, out / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / MANIFEST
