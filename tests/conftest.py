from pathlib import Path

import pytest

from toolkit.config import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def small_scenario():
    return load_scenario(SCENARIOS / "small.yaml")


@pytest.fixture(scope="session")
def small_log(small_scenario):
    from toolkit.sim import simulate

    return simulate(small_scenario, seed=11)
