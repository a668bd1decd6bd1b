"""Output directories that appear whole or not at all, and never overwrite the wrong result.

Every command that writes a directory (``lti simulate``, ``lti ingest``, ``lti batch``) checks
its ``--out`` before any work starts (:func:`check_output_dir`), writes into a hidden staging
directory beside it and renames that into place only when everything is written
(:func:`staged_directory`). A directory that holds another kind of result, another run, or
files the toolkit did not write is refused unless the user forces it.

JSON written by the toolkit is strict JSON: :func:`write_json` turns non-finite floats into
``null`` and refuses anything else that JSON cannot hold.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
STAGING_MARK = ".staging-"
RETIRED_MARK = ".retired-"


class OutputError(Exception):
    """An output path the toolkit must not or cannot write; the user can fix it."""


def read_manifest(directory: Path) -> dict | None:
    """Return the directory's ``manifest.json`` as a dict, or None if absent or unreadable."""
    path = Path(directory) / MANIFEST
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _writable_parent(out: Path) -> Path:
    """Return the nearest existing ancestor of ``out``, refusing it if it is not writable."""
    parent = out.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{out}: cannot be created, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: cannot be created, {parent} is not writable")
    return parent


def check_output_dir(
    out: str | Path,
    kind: str,
    identity: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Refuse an output directory that cannot or must not receive a result of ``kind``.

    Parameters
    ----------
    out : str or Path
        The directory the user named.
    kind : str
        The command writing it, as recorded under ``"command"`` in its manifest.
    identity : mapping, optional
        What makes the result this result (e.g. scenario and plan fingerprints and the seed).
        An existing result of the same kind whose manifest disagrees on any of these keys is
        another result, refused unless ``force``. None accepts any result of the same kind
        (a batch directory accumulates runs).
    force : bool
        Replace whatever the directory holds.

    Returns
    -------
    Path
        The output directory.

    Raises
    ------
    OutputError
        If ``out`` is a file, cannot be created or written, or (without ``force``) holds
        files that are not a result of ``kind`` with the same ``identity``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file, not a directory")
    if not out.exists():
        _writable_parent(out)
        return out
    if not os.access(out, os.W_OK | os.X_OK) or not os.access(out.parent, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: is not writable")
    if force or not any(out.iterdir()):
        return out
    manifest = read_manifest(out)
    if manifest is None:
        raise OutputError(
            f"{out}: holds files that no lti command wrote (no {MANIFEST}); "
            "choose another directory or give --force to replace them"
        )
    found = manifest.get("command")
    if found != kind:
        raise OutputError(
            f"{out}: holds the result of `lti {found}`, not of `lti {kind}`; "
            "choose another directory or give --force to replace it"
        )
    for key, value in (identity or {}).items():
        if manifest.get(key) != value:
            raise OutputError(
                f"{out}: holds another `lti {kind}` result ({key} differs: "
                f"{manifest.get(key)!r} there, {value!r} here); choose another directory or "
                "give --force to replace it"
            )
    return out


@contextmanager
def staged_directory(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``out`` only if the block succeeds.

    The staging directory is a hidden sibling of ``out`` on the same file system, so the final
    rename is atomic; if the block raises (or the process is killed), ``out`` is untouched and
    the staging directory is removed (or left hidden, and swept by the next run).

    Parameters
    ----------
    out : str or Path
        The directory the result ends up in.

    Yields
    ------
    Path
        Where to write the result.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(out)
    staging = out.parent / f".{out.name}{STAGING_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = None
    if out.exists():
        retired = out.parent / f".{out.name}{RETIRED_MARK}{uuid.uuid4().hex[:8]}"
        os.replace(out, retired)
    os.replace(staging, out)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def sweep_stale(out: Path) -> None:
    """Remove staging and retired copies of ``out`` left by a process that was killed."""
    for mark in (STAGING_MARK, RETIRED_MARK):
        for stale in out.parent.glob(f".{out.name}{mark}*"):
            pid = stale.name.removeprefix(f".{out.name}{mark}").split("-")[0]
            if mark == STAGING_MARK and pid.isdigit() and _alive(int(pid)):
                continue  # another process is still writing it
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def finite(value: Any) -> Any:
    """Return ``value`` with every non-finite float (NaN, ±inf) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def write_json(path: str | Path, data: Any) -> Path:
    """Write strict JSON (no NaN or Infinity: they become null), sorted and indented.

    Parameters
    ----------
    path : str or Path
        The file to write.
    data : object
        JSON-able data; numpy scalars must already be Python numbers.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    text = json.dumps(finite(data), indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def path_id(name: str, fingerprint: str, length: int = 12) -> str:
    """Return a directory name for a named input: a slug of its name and its fingerprint.

    Names come from files users write and may hold ``/``, ``..`` or anything else; the slug
    keeps letters, digits, ``_``, ``.`` and ``-`` (never a leading dot) and the fingerprint
    keeps two inputs of the same name apart. The result is always one path component.

    Parameters
    ----------
    name : str
        The input's ``name:``.
    fingerprint : str
        A hash of its content (hex).
    length : int
        Characters of the fingerprint to keep.

    Returns
    -------
    str
        ``<slug>-<fingerprint prefix>``, e.g. ``mttr_only-3fa2c91b0d4e``.

    Examples
    --------
    >>> path_id("../../etc", "abcdef0123456789")
    'etc-abcdef012345'
    """
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:48] or "unnamed"
    digest = re.sub(r"[^0-9a-f]", "", fingerprint.lower())[:length] or "0" * length
    return f"{slug}-{digest}"
