"""Output directories that appear whole or not at all, and never overwrite the wrong result.

Every command that writes a directory (``lti simulate``, ``lti ingest``, ``lti batch``) checks
its ``--out`` before any work starts (:func:`check_output_dir`), writes into a hidden staging
directory beside it and renames that into place only when everything is written
(:func:`staged_directory`). A directory that holds another kind of result, another run, or
files the toolkit did not write is refused unless the user forces it. Even forced, a directory
is never replaced if that would delete the command's own inputs, the working directory or the
home directory.

JSON written by the toolkit is strict JSON, written whole or not at all: :func:`write_json`
turns non-finite floats into ``null`` and refuses anything else that JSON cannot hold.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

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


def writable_parent(out: Path) -> Path:
    """Return the nearest existing ancestor of ``out``, refusing it if it is not writable.

    Parameters
    ----------
    out : Path
        A file or directory to be created.

    Returns
    -------
    Path
        The nearest ancestor that exists.

    Raises
    ------
    OutputError
        If that ancestor is a file or cannot be written.
    """
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


def _lookup(record: Mapping[str, Any], key: str) -> Any:
    """Return ``record[key]``, where a dotted key (``plan.fingerprint``) reaches into nesting."""
    value: Any = record
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` is ``directory`` or lies beneath it (both resolved)."""
    path, directory = path.resolve(), directory.resolve()
    return path == directory or directory in path.parents


def _home() -> Path | None:
    try:
        return Path.home()
    except (RuntimeError, KeyError):  # no HOME and no user entry: nothing to protect
        return None


def _refuse_precious(out: Path, inputs: Iterable[str | Path]) -> None:
    """Refuse a directory whose replacement would delete what must never be deleted."""
    if out.resolve() == Path(out.resolve().anchor):
        raise OutputError(f"{out}: is the root of the file system; choose a directory of its own")
    for precious, what in ((Path.cwd(), "the working directory"), (_home(), "your home")):
        if precious is not None and _inside(precious, out):
            raise OutputError(f"{out}: holds {what}; choose a directory of its own")
    for path in inputs:
        if _inside(Path(path), out):
            raise OutputError(
                f"{out}: holds the input {path}, which replacing the directory would delete; "
                "choose another directory"
            )


def _unlisted(out: Path, manifest: Mapping[str, Any]) -> list[str]:
    """Return the files under ``out`` that its manifest does not list (the manifest aside)."""
    listed = set(manifest.get("outputs") or {}) | {MANIFEST}
    found = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if not path.is_dir())
    return [name for name in found if name not in listed]


def check_output_dir(
    out: str | Path,
    kind: str,
    identity: Mapping[str, Any] | None = None,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Refuse an output directory that cannot or must not receive a result of ``kind``.

    Call it before any work starts, so a refusal costs the user nothing.

    Parameters
    ----------
    out : str or Path
        The directory the user named.
    kind : str
        The command writing it, as recorded under ``"command"`` in its manifest.
    identity : mapping, optional
        What makes the result this result (e.g. scenario and plan fingerprints and the seed);
        a dotted key (``"plan.fingerprint"``) names a nested manifest entry. An existing result
        of the same kind whose manifest disagrees on any of these keys is another result, and
        one holding files its manifest does not list holds the user's own files: both are
        refused unless ``force``. None accepts any result of the same kind (a batch directory
        accumulates runs).
    force : bool
        Replace whatever the directory holds.
    inputs : iterable of str or Path
        The files the command reads; a directory holding one of them is refused even with
        ``force``, since replacing it would delete the input.

    Returns
    -------
    Path
        The output directory.

    Raises
    ------
    OutputError
        If ``out`` is a file, cannot be created or written, holds the command's inputs, the
        working or the home directory, or (without ``force``) holds files that are not a
        result of ``kind`` with the same ``identity``.
    """
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{out}: is a broken symbolic link")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file, not a directory")
    if not out.exists():
        writable_parent(out)
        return out
    _refuse_precious(out, inputs)
    if not os.access(out, os.R_OK | os.W_OK | os.X_OK) or not os.access(
        out.parent, os.W_OK | os.X_OK
    ):
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
    if identity is None:
        return out
    for key, value in identity.items():
        there = _lookup(manifest, key)
        if there != value:
            raise OutputError(
                f"{out}: holds another `lti {kind}` result ({key} differs: "
                f"{there!r} there, {value!r} here); choose another directory or "
                "give --force to replace it"
            )
    unlisted = _unlisted(out, manifest)
    if unlisted:
        shown = ", ".join(unlisted[:3]) + (
            f" and {len(unlisted) - 3} more" if len(unlisted) > 3 else ""
        )
        raise OutputError(
            f"{out}: holds files its {MANIFEST} does not list ({shown}), which replacing the "
            "result would delete; move them or give --force"
        )
    return out


@contextmanager
def staged_directory(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``out`` only if the block succeeds.

    The staging directory is a hidden sibling of ``out`` on the same file system, so the final
    rename is atomic; if the block raises (or the process is killed), ``out`` is untouched and
    the staging directory is removed (or left hidden, and swept by the next run). The old
    ``out`` is renamed aside before the new one takes its place and deleted after; a process
    killed between the two renames leaves it aside, and the next run puts it back.

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
    if out.exists() or out.is_symlink():
        retired = out.parent / f".{out.name}{RETIRED_MARK}{uuid.uuid4().hex[:8]}"
        os.replace(out, retired)
    try:
        os.replace(staging, out)
    except BaseException:
        if retired is not None:
            os.replace(retired, out)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if retired is not None:
        _remove(retired)


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _hidden_copies(out: Path, mark: str) -> list[Path]:
    """Return the hidden staging or retired siblings of ``out`` (names compared literally)."""
    prefix = f".{out.name}{mark}"
    try:
        return sorted(path for path in out.parent.iterdir() if path.name.startswith(prefix))
    except OSError:
        return []


def sweep_stale(out: str | Path) -> None:
    """Tidy what a killed process left beside ``out``.

    A staging copy whose process is gone is removed; a retired copy is put back as ``out`` if
    ``out`` is missing (the process died between its two renames), else removed.

    Parameters
    ----------
    out : str or Path
        The output directory.
    """
    out = Path(out)
    prefix = f".{out.name}{STAGING_MARK}"
    for stale in _hidden_copies(out, STAGING_MARK):
        pid = stale.name.removeprefix(prefix).split("-")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue  # another process is still writing it
        _remove(stale)
    for retired in _hidden_copies(out, RETIRED_MARK):
        if not out.exists() and not out.is_symlink():
            os.replace(retired, out)
        else:
            _remove(retired)


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
    """Return ``value`` as plain JSON-able data, every non-finite float (NaN, ±inf) as None.

    Recurses into mappings, lists and tuples; numpy scalars become Python numbers first.

    Parameters
    ----------
    value : object
        The data.

    Returns
    -------
    object
        The same data with no NaN or infinity left in it.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def write_json(path: str | Path, data: Any) -> Path:
    """Write strict JSON (no NaN or Infinity: they become null), sorted and indented.

    The text goes to a temporary file beside ``path`` that replaces it in one rename, so a
    reader never sees half a file and a failure leaves the old file as it was.

    Parameters
    ----------
    path : str or Path
        The file to write.
    data : object
        JSON-able data (numpy scalars are converted).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    TypeError
        If ``data`` holds something JSON cannot represent; nothing is written then.
    """
    path = Path(path)
    text = json.dumps(finite(data), indent=2, sort_keys=True, allow_nan=False)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def path_id(name: str, fingerprint: str, length: int = 12) -> str:
    """Return a directory name for a named input: a slug of its name and its fingerprint.

    Names come from files users write and may hold ``/``, ``..`` or anything else; the slug
    keeps ASCII letters, digits, ``_``, ``.`` and ``-`` (never a leading dot, never two dots in a
    row) and the fingerprint keeps two inputs of the same name apart. The result is always one
    path component.

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
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    slug = re.sub(r"\.{2,}", ".", slug).strip("._-")[:48].rstrip("._-") or "unnamed"
    digest = re.sub(r"[^0-9a-f]", "", fingerprint.lower())[:length] or "0" * length
    return f"{slug}-{digest}"
