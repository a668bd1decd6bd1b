"""How waits in a team's queue move with its load: what teams expect of fewer or shorter jobs.

A team's handlers serve non-swarmed incidents and change work from one queue, ranked by
priority (changes with priority 3, as the world ranks them). Teams expect waits to follow the
textbook approximation for a non-preemptive priority queue with ``c`` servers (Cobham 1954;
Kleinrock 1976, *Queueing Systems* vol. 2, §3.6): a job of class ``k`` waits

    W_k = C(c, a) · S / c / ((1 − σ_{k−1}) (1 − σ_k))

where ``C`` is the Erlang C probability of waiting at offered load ``a = c ρ``, ``S`` the mean
hands-on hours per job, ``σ_k`` the utilisation of classes ``1..k`` and ``ρ`` the total. With one
class this is the M/M/c mean wait. Teams use it for ratios only (the wait under a candidate
against the wait now), so its absolute level, which depends on the work-time distribution,
cancels out.
"""

from __future__ import annotations

import numpy as np

MAX_UTILISATION = 0.95  # loads are capped here: above it the steady state says little


def erlang_c(servers: np.ndarray, offered: np.ndarray) -> np.ndarray:
    """Return the probability that an arrival waits in an M/M/c queue.

    Parameters
    ----------
    servers : ndarray of int
        Servers (handlers) per queue, at least 1.
    offered : ndarray of float
        Offered load ``a = λ S`` in erlangs, below ``servers``.

    Returns
    -------
    ndarray
        Erlang C probability per queue, from the Erlang B recursion (stable for large ``c``).

    Examples
    --------
    >>> float(erlang_c(np.array([1]), np.array([0.5]))[0])  # M/M/1: the utilisation
    0.5
    """
    servers = np.asarray(servers, dtype=np.int64)
    offered = np.asarray(offered, dtype=float)
    blocking = np.ones(np.broadcast(servers, offered).shape)
    for i in range(1, int(servers.max(initial=1)) + 1):
        step = offered * blocking / (i + offered * blocking)
        blocking = np.where(i <= servers, step, blocking)
    return servers * blocking / (servers - offered * (1 - blocking))


def class_waits(servers: np.ndarray, loads: np.ndarray, mean_work: np.ndarray) -> np.ndarray:
    """Return the expected wait of each priority class, in the unit of ``mean_work``.

    Parameters
    ----------
    servers : ndarray of int, shape (n,)
        Handlers per queue.
    loads : ndarray, shape (n, k)
        Utilisation each class brings, classes in the order they are served (highest first).
    mean_work : ndarray, shape (n,)
        Mean hands-on time per job of the queue.

    Returns
    -------
    ndarray, shape (n, k)
        Waits; the total and every cumulative load are capped at :data:`MAX_UTILISATION`.
    """
    loads = np.clip(np.asarray(loads, dtype=float), 0.0, None)
    through = np.minimum(np.cumsum(loads, axis=1), MAX_UTILISATION)
    before = np.hstack([np.zeros((len(loads), 1)), through[:, :-1]])
    total = through[:, -1] if loads.shape[1] else np.zeros(len(loads))
    waiting = erlang_c(servers, servers * total)
    return (waiting * mean_work / servers)[:, None] / ((1 - before) * (1 - through))


def wait_ratios(
    servers: np.ndarray,
    loads_now: np.ndarray,
    loads_then: np.ndarray,
    work_now: np.ndarray,
    work_then: np.ndarray,
) -> np.ndarray:
    """Return each class's expected wait under new loads relative to its wait now.

    Parameters
    ----------
    servers : ndarray of int, shape (n,)
        Handlers per queue.
    loads_now, loads_then : ndarray, shape (n, k)
        Utilisation per class now and under the candidate.
    work_now, work_then : ndarray, shape (n,)
        Mean hands-on hours per job now and under the candidate.

    Returns
    -------
    ndarray, shape (n, k)
        1 where there is no wait to scale (no load now).
    """
    now = class_waits(servers, loads_now, work_now)
    then = class_waits(servers, loads_then, work_then)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = then / now
    return np.where(np.isfinite(ratio) & (now > 0), ratio, 1.0)
