"""Stylised fact of vendor coordination (course topic 6.2), across 20 seeds with a paired test.

Shared-penalty clauses cut misattribution between internal teams and the vendor compared with
an internal-only exclusion rule. Both arms run the small scenario over three years (a pre-plan
year, then two plan years) with both vendors adapting to their contracts, under the same plan:
``balanced`` (vendor and external causes excluded from the team's KPIs, no root-cause audit)
with a malus of 0.5 on ``misattribution_detected``. The arms differ only by a proportional
``penalty_sharing`` clause in both vendors' contracts, and compare pair by pair on the same
seed. Under the clause the vendors pay for what they are blamed for, dispute unsupported
claims, and an overturned claim is a finding against the team, which the team prices; under
the exclusion rule nobody checks the claims. The behaviour is not programmed in: it follows
from teams and vendors maximising their utility.
"""

from __future__ import annotations

import functools
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import yaml
from scipy.stats import wilcoxon

from toolkit.behaviour.reporting import MISATTRIBUTED_CAUSES
from toolkit.config.loading import validate_mapping
from toolkit.config.plan import Malus
from toolkit.config.scenario import Scenario
from toolkit.events import EventLog
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop

from .conftest import SCENARIOS

SEEDS = range(20)
ALPHA = 0.05  # one-sided Wilcoxon signed-rank test on the paired per-seed counts
PENALTY = {1: 2000, 2: 800, 3: 200, 4: 50}  # per joint failure (scenarios/README.md)

pytestmark = pytest.mark.slow


@functools.cache
def _scenario(clause: bool) -> Scenario:
    data = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    data["horizon"]["years"] = 3
    for vendor in data["organisation"]["vendors"]:
        vendor["behaviour"] = {}
        if clause:
            vendor["contract"]["penalty_sharing"] = {
                "rule": "proportional",
                "penalty_per_incident": PENALTY,
            }
    return validate_mapping(Scenario, data, "small.yaml (3 years, adapting vendors)")


@functools.cache
def _plan():
    plan = load_plan("balanced")
    return plan.model_copy(
        update={"malus": Malus(triggers=["misattribution_detected"], reduction=0.5)}
    )


def _misattributed(truth: EventLog, record: EventLog) -> int:
    """Count incidents the record blames on a vendor whose true cause is internal or change."""
    true = truth.incidents.set_index("incident_id")["root_cause"]
    recorded = record.incidents.set_index("incident_id")["root_cause"]
    common = recorded.index.intersection(true.index)
    return int(((recorded[common] == "vendor") & true[common].isin(MISATTRIBUTED_CAUSES)).sum())


def _record(job: tuple[bool, int]) -> dict:
    """Run one arm on one seed; count what the teams misattributed, before and after disputes."""
    clause, seed = job
    loop = PlanLoop(_scenario(clause), _plan(), seed)
    run = loop.run()
    blamed = loop.report(run.truth, loop.intensities, disputed=False)
    return {
        "clause": clause,
        "seed": seed,
        "misattributed": _misattributed(run.truth, blamed),
        "standing": _misattributed(run.truth, run.reported),
        "lever": float(run.behaviour["misattribution"].mean()),
        "overturned": int(run.behaviour["overturned"].sum()),
    }


@pytest.fixture(scope="module")
def arms() -> dict[bool, dict[str, np.ndarray]]:
    jobs = [(clause, seed) for seed in SEEDS for clause in (False, True)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        records = list(pool.map(_record, jobs))
    return {
        clause: {
            key: np.array([r[key] for r in records if r["clause"] == clause])
            for key in ("misattributed", "standing", "lever", "overturned")
        }
        for clause in (False, True)
    }


def test_m_shared_penalties_cut_misattribution_against_an_exclusion_rule(arms):
    """Fewer misattributed incidents in the teams' record under the clause, seed by seed.

    Measured over the 20 seeds: 1,127 incidents misattributed under the exclusion rule against
    193 under the clause (before the vendors' disputes; 1,078 against 186 standing after
    them), one-sided Wilcoxon p = 0.0017; the mean misattribution lever 0.013 against 0.004
    (p = 0.004). The price is the plan's: with plain ``balanced`` (no consequence of a
    misattribution finding) the clause changes nothing (1,078 against 1,244 standing, p = 0.49).
    """
    exclusion, shared = arms[False]["misattributed"], arms[True]["misattributed"]
    assert shared.sum() < exclusion.sum()
    assert wilcoxon(exclusion, shared, alternative="greater").pvalue < ALPHA
    # the teams' lever, not only the vendors' corrections, moves
    lever = arms[False]["lever"] - arms[True]["lever"]
    assert wilcoxon(lever, alternative="greater", zero_method="zsplit").pvalue < ALPHA
    # under the exclusion rule nobody overturns a claim as a finding
    assert (arms[False]["overturned"] == 0).all()
