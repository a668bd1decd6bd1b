"""The run cache of a batch: which finished run may stand in for a run about to start.

A run is reused only if it was computed from the same scenario, plan and seed by the same
code (a hash of the toolkit's source files, not only its version number: an edited file under
the same version gives a new key) and if every file it wrote still has the hash its manifest
recorded (a truncated or edited table is computed again).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import toolkit
from toolkit.config import Scenario
from toolkit.config.plan import Plan
from toolkit.run.manifest import file_sha256
from toolkit.run.outputs import read_manifest


@functools.cache
def code_fingerprint() -> str:
    """Return a hash of the toolkit's Python source files, computed once per process.

    The files are found from the imported package itself, so this works from a source tree
    and from an installed wheel alike.

    Returns
    -------
    str
        20 hex characters.
    """
    root = Path(toolkit.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def run_key(scenario: Scenario, plan: Plan, seed: int) -> str:
    """Return the hash of what determines a run's result: inputs, seed, version and code.

    Parameters
    ----------
    scenario, plan : Scenario, Plan
        The validated inputs.
    seed : int
        The run's seed.

    Returns
    -------
    str
        20 hex characters.
    """
    parts = (scenario.fingerprint(), plan.fingerprint(), seed, toolkit.__version__)
    text = "/".join(str(part) for part in (*parts, code_fingerprint()))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cached_run(directory: Path, key: str, files: tuple[str, ...]) -> dict | None:
    """Return a finished run's manifest if it may be reused for ``key``, else None.

    Parameters
    ----------
    directory : Path
        The run's directory.
    key : str
        The key of the run about to start (:func:`run_key`).
    files : tuple of str
        The files a complete run holds besides its manifest.

    Returns
    -------
    dict or None
        The manifest, when its key is ``key`` and every file in ``files`` exists with the
        hash recorded under ``"outputs"``; None otherwise (the run is computed again).
    """
    record = read_manifest(directory)
    if record is None or record.get("key") != key:
        return None
    hashes = record.get("outputs")
    if not isinstance(hashes, dict) or not isinstance(record.get("headline"), dict):
        return None
    for name in files:
        path = directory / name
        if not path.is_file() or hashes.get(name) != file_sha256(path):
            return None
    return record
