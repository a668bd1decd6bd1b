"""Named random streams: each process draws from its own generator.

A stream is keyed by the run's seed and a stable name (``"arrivals/core-banking"``), so
adding a service or a process never shifts the draws of another. This is what lets later
runs compare plans on common random numbers. Draws about a given record (an incident's survey,
a gaming decision) are keyed by its id instead (:func:`uniforms`), so they do not depend on
the order or number of records.
"""

from __future__ import annotations

import hashlib
import math
import random

import numpy as np
import pandas as pd


def stream(seed: int, name: str) -> random.Random:
    """Return the generator for ``name`` under ``seed``; identical on every platform."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "little"))


def poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson count by Knuth's method (fine for the small means used here)."""
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def hash_ids(ids: pd.Series | np.ndarray) -> np.ndarray:
    """Hash string ids to uint64 with pandas' fixed-key SipHash, stable across runs.

    Python's ``hash()`` is salted per process, so it cannot key common random numbers.
    """
    return pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False)


def uniforms(hashed: np.ndarray, seed: int, purpose: str) -> np.ndarray:
    """Return one uniform draw in [0, 1) per hashed id for a (seed, purpose) pair.

    Parameters
    ----------
    hashed : ndarray of uint64
        Ids hashed by :func:`hash_ids`.
    seed : int
        The run's seed.
    purpose : str
        The lever and, for secondary draws, what is drawn (``"stop_the_clock/margin"``), so
        every decision has its own independent stream.

    Returns
    -------
    ndarray of float
        Draws aligned with ``hashed``.
    """
    digest = hashlib.sha256(f"{seed}/{purpose}".encode()).digest()
    x = hashed ^ np.uint64(int.from_bytes(digest[:8], "little"))
    # The splitmix64 finaliser: every input bit flips about half of the output bits.
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
