"""The JSON manifest written beside every result: what went in, what came out, how long.

The manifest lists every output file with its SHA-256, so a reader can tell a complete result
from one that was cut short or changed since (:func:`verify_manifest`).
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import toolkit
from toolkit.run.outputs import MANIFEST, OutputError, read_manifest, write_json


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(directory: Path, record: dict, outputs: list[Path]) -> Path:
    """Write ``manifest.json`` with the record, versions and a checksum per output file.

    Parameters
    ----------
    directory : Path
        The result's directory; every output lies beneath it.
    record : dict
        What the command wants on record (command, inputs, settings); strict JSON is written,
        so a non-finite number becomes ``null``.
    outputs : list of Path
        The files written.

    Returns
    -------
    Path
        The manifest.
    """
    manifest = {
        **record,
        "toolkit_version": toolkit.__version__,
        "python_version": platform.python_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "outputs": {
            path.relative_to(directory).as_posix(): file_sha256(path) for path in sorted(outputs)
        },
    }
    return write_json(directory / MANIFEST, manifest)


def verify_manifest(directory: str | Path, rewriting: Iterable[str] = ()) -> dict:
    """Return a result's manifest after checking that every file it lists is there, unchanged.

    Parameters
    ----------
    directory : str or Path
        A directory written by an ``lti`` command.
    rewriting : iterable of str
        Listed outputs (relative paths) the caller is about to write again, so not checked.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    OutputError
        Naming the file: the manifest is missing or unreadable, lists no outputs, or an output
        it lists is missing or has another SHA-256 (the result is incomplete or was changed).
    """
    directory = Path(directory)
    path = directory / MANIFEST
    manifest = read_manifest(directory)
    if manifest is None:
        state = "unreadable" if path.exists() else "missing"
        raise OutputError(
            f"{path}: {state}; not a complete result of an lti command (run it again)"
        )
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        raise OutputError(f"{path}: lists no outputs; not a complete result (run it again)")
    skipped = set(rewriting)
    for name, expected in sorted(outputs.items()):
        if name in skipped:
            continue
        output = directory / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise OutputError(f"{path}: lists {name!r}, which is not inside {directory}")
        if not output.is_file():
            raise OutputError(f"{output}: listed in {path} but missing; the result is incomplete")
        if file_sha256(output) != expected:
            raise OutputError(
                f"{output}: SHA-256 differs from {path}; the file was changed after it was written"
            )
    return manifest
