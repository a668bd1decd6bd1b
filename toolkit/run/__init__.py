"""One run of the loop, written to disk with its manifest."""

from toolkit.run.simulation import RunResult, run_scenario

__all__ = ["RunResult", "run_scenario"]
