"""The one detection model that audits realise and teams price.

An audit samples tickets: it draws ``sample_size`` of the team's tickets of the period without
replacement, and recognises each sampled ticket that carries evidence of gaming with
probability ``recognition`` (the plan's ``detection_power``). The chance of a finding therefore
rises with the share of tickets gamed, with the sample and with the auditor's eye, and is zero
for a team that does not game. The world draws the sample (:mod:`toolkit.run.loop`); teams
price :func:`finding_probability` with the counts they expect (:func:`ticket_exposure`), built
from their last period by :func:`eligible_counts`, which mirrors the eligibility rules of
:mod:`toolkit.behaviour.reporting`.

``cherry_picking`` leaves no trace in any ticket, so no ticket audit can find it; unjustified
emergency changes are found in a review of the team's emergency changes, sampled the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from toolkit.behaviour.reporting import (
    LOWEST_PRIORITY,
    MISATTRIBUTED_CAUSES,
    PADDING_PER_INCIDENT,
)

NS = "datetime64[ns]"
ONE_HOUR = np.timedelta64(1, "h")
UNJUSTIFIED_SHARE = 0.5  # share of changes pushed through as emergencies that carry no reason
# levers that alter true tickets, as against padding and follow-ups, which add tickets
ALTERING_LEVERS = ("underreporting", "misattribution", "priority_downgrade", "stop_the_clock")


@lru_cache(maxsize=65_536)
def _exact(population: int, affected: int, sample_size: int, recognition: float) -> float:
    if population <= 0 or affected <= 0 or sample_size <= 0 or recognition <= 0:
        return 0.0
    n = min(sample_size, population)
    found = np.arange(min(affected, n) + 1)
    pmf = hypergeom.pmf(found, population, affected, n)
    return float(1.0 - pmf @ (1.0 - recognition) ** found)


def finding_probability(
    population: float, affected: float, sample_size: int, recognition: float
) -> float:
    """Return the chance that a sampling audit finds gaming.

    P(finding) = 1 − Σ_x Hyp(x; N, K, n) · (1 − r)^x, where x is the number of affected
    tickets in the sample. A sample at least as large as the population is a full check.

    Parameters
    ----------
    population : float
        Tickets the sample is drawn from (N); rounded to a whole number, since a team's
        expectation of its volume need not be one.
    affected : float
        Tickets among them carrying evidence (K). A team's expectation need not be whole, so
        a fractional count is interpolated linearly between its floor and ceiling.
    sample_size : int
        Tickets drawn without replacement (n).
    recognition : float
        Chance the auditor recognises the evidence on a sampled affected ticket (r).

    Returns
    -------
    float
        The probability of at least one recognised affected ticket in the sample.
    """
    n_pop = max(int(round(population)), 0)
    k = min(max(float(affected), 0.0), float(n_pop))
    low = math.floor(k)
    p_low = _exact(n_pop, low, int(sample_size), float(recognition))
    if k == low:
        return p_low
    p_high = _exact(n_pop, low + 1, int(sample_size), float(recognition))
    return p_low + (k - low) * (p_high - p_low)


def _net_hours(incidents: pd.DataFrame) -> np.ndarray:
    opened = incidents["opened_at"].to_numpy(dtype=NS)
    resolved = incidents["resolved_at"].to_numpy(dtype=NS)
    return (resolved - opened) / ONE_HOUR - incidents["on_hold_hours"].to_numpy(dtype=float)


def eligible_counts(incidents: pd.DataFrame) -> dict[str, float]:
    """Count the true incidents each reporting lever would touch at full intensity.

    The rules are those of :mod:`toolkit.behaviour.reporting`, applied to the true values:
    underreporting takes P4 incidents and half of P3; misattribution internal and change
    causes; priority downgrade incidents that breach above the lowest priority; stop-the-clock
    resolved incidents that breach or took over half their target; premature closure resolved
    incidents over half their target (each adds a follow-up ticket); padding adds
    ``PADDING_PER_INCIDENT`` tickets per true incident. The order of the transforms (an
    underreported incident is not gamed further, a stopped clock is not also closed early) is
    left out: teams price the levers one by one and combine them as independent.

    Parameters
    ----------
    incidents : DataFrame
        One team's true incidents of one period (schema columns).

    Returns
    -------
    dict of str to float
        Expected tickets touched at intensity 1, per reporting lever, and ``volume``.
    """
    priority = incidents["priority"].to_numpy(dtype=np.int64)
    breached = incidents["sla_breached"].to_numpy(dtype=bool)
    resolved = incidents["resolved_at"].notna().to_numpy(dtype=bool)
    target = incidents["sla_target_hours"].to_numpy(dtype=float)
    slow = resolved & (_net_hours(incidents) > target / 2)
    causes = incidents["root_cause"].isin(MISATTRIBUTED_CAUSES).to_numpy(dtype=bool)
    return {
        "volume": float(len(incidents)),
        "padding": PADDING_PER_INCIDENT * len(incidents),
        "priority_downgrade": float((breached & (priority < LOWEST_PRIORITY)).sum()),
        "stop_the_clock": float((resolved & (breached | slow)).sum()),
        "premature_closure": float(slow.sum()),
        "underreporting": float(
            (priority == LOWEST_PRIORITY).sum() + (priority == LOWEST_PRIORITY - 1).sum() / 2
        ),
        "misattribution": float(causes.sum()),
    }


def ticket_exposure(
    eligible: Mapping[str, float], intensities: Mapping[str, float]
) -> tuple[float, float]:
    """Return the tickets an audit would sample from and those expected to carry evidence.

    Added tickets (padding, follow-ups of early closures) enlarge the population and all carry
    evidence; the levers that alter true tickets touch ``eligible × intensity`` each, combined
    as independent shares of the true volume, 1 − Π(1 − share).

    Parameters
    ----------
    eligible : mapping of str to float
        :func:`eligible_counts` of the team's last period.
    intensities : mapping of str to float
        The reporting levers' intensities being priced.

    Returns
    -------
    population, affected : float
    """
    volume = eligible["volume"]
    added = sum(eligible[lever] * intensities[lever] for lever in ("padding", "premature_closure"))
    clean = 1.0
    for lever in ALTERING_LEVERS:
        if volume > 0:
            clean *= 1 - min(eligible[lever] * intensities[lever] / volume, 1.0)
    return volume + added, added + volume * (1 - clean)


def emergency_exposure(
    changes: float, normal_share: float, emergency_share: float, abuse: float
) -> tuple[float, float]:
    """Return the emergency changes a review samples from and those expected unjustified.

    A change pushed through as an emergency was a normal one; half of them carry no
    justification (see :mod:`toolkit.sim.world`), which is the evidence.

    Parameters
    ----------
    changes : float
        The team's changes in a period, of every type.
    normal_share, emergency_share : float
        The scenario's change mix.
    abuse : float
        The ``emergency_abuse`` intensity priced.

    Returns
    -------
    population, affected : float
    """
    abused = changes * normal_share * abuse
    return changes * emergency_share + abused, UNJUSTIFIED_SHARE * abused
