"""Named random streams: each process draws from its own generator.

A stream is keyed by the run's seed and a stable name (``"arrivals/core-banking"``), so
adding a service or a process never shifts the draws of another. This is what lets later
runs compare plans on common random numbers.
"""

from __future__ import annotations

import hashlib
import math
import random


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
