"""The JSON manifest written beside every result: what went in, what came out, how long."""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from pathlib import Path

import toolkit


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(directory: Path, record: dict, outputs: list[Path]) -> Path:
    """Write ``manifest.json`` with the record, versions and a checksum per output file."""
    manifest = {
        **record,
        "toolkit_version": toolkit.__version__,
        "python_version": platform.python_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "outputs": {
            str(path.relative_to(directory)): file_sha256(path) for path in sorted(outputs)
        },
    }
    path = directory / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path
