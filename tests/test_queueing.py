"""Queueing validation: an M/M/c scenario reproduces Erlang C across seeds."""

import math

import numpy as np
import pytest

from toolkit.config import load_scenario
from toolkit.sim import HOURS_PER_YEAR, simulate

from .conftest import SCENARIOS

WARM_UP_HOURS = 200.0


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """Probability of waiting and mean wait in queue of an M/M/c queue."""
    load = arrival_rate / service_rate
    rho = load / servers
    top = load**servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait, p_wait / (servers * service_rate - arrival_rate)


@pytest.mark.slow
def test_mmc_scenario_matches_erlang_c_across_seeds():
    scenario = load_scenario(SCENARIOS / "mmc.yaml")
    cfg = scenario.environment.incidents
    service = scenario.organisation.services[0]
    arrival_rate = (
        cfg.base_rate_per_service_per_year
        * service.complexity**cfg.complexity_exponent
        * cfg.tier_multiplier.get(service.criticality, 1.0)
        / HOURS_PER_YEAR
    )
    (priority,) = cfg.priority_mix
    service_rate = 1 / cfg.work_time[priority].mean_hours
    servers = scenario.organisation.teams[0].capacity
    p_wait, mean_wait = erlang_c(arrival_rate, service_rate, servers)

    waits, shares = [], []
    for seed in range(10):
        inc = simulate(scenario, seed).incidents
        inc = inc[
            inc["opened_at"] >= inc["opened_at"].min() + np.timedelta64(int(WARM_UP_HOURS), "h")
        ]
        inc = inc.dropna(subset=["responded_at"])
        wait = (inc["responded_at"] - inc["opened_at"]).dt.total_seconds() / 3600
        waits.append(wait.mean())
        shares.append((wait > 0).mean())
    for observed, theory in ((waits, mean_wait), (shares, p_wait)):
        observed = np.array(observed)
        se = observed.std(ddof=1) / math.sqrt(len(observed))
        assert abs(observed.mean() - theory) < 4 * se, (observed.mean(), theory, se)
        assert observed.mean() == pytest.approx(theory, rel=0.06)
