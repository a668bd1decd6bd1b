"""One run of the loop (world, reporting, plan, money, behaviour), written to disk.

The names below are imported on first use, so that ``toolkit.run.outputs`` (which the command
line needs for its errors) does not pull in the whole loop.
"""

from importlib import import_module

_EXPORTS = {
    "PlanLoop": "toolkit.run.loop",
    "PlanRun": "toolkit.run.loop",
    "run_plan": "toolkit.run.loop",
    "RunResult": "toolkit.run.simulation",
    "run_scenario": "toolkit.run.simulation",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'toolkit.run' has no attribute {name!r}")
