"""Cost of refusing hostile YAML (alias bombs, deep nesting, recursion) against reading a scenario.

Run: ``python benchmarks/yaml_guard.py [--repeats N]``. Reads each hostile file of
``tests/data/bad_plans`` and ``tests/data/bad_scenarios`` until it is refused, keeping the best of
N tries, and prints its time and its ratio to reading ``scenarios/small.yaml`` whole. The goal is
a refusal well under a second (a 419-byte alias bomb once kept ``lti validate`` busy for 43 s),
so at most a few readings of a real scenario. ``lti validate`` itself also pays the start of the
command (importing the toolkit), which does not depend on the file.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

from toolkit.config import ConfigError
from toolkit.config.yaml_strict import read_yaml_mapping

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
HOSTILE = [
    DATA / folder / name
    for folder in ("bad_plans", "bad_scenarios")
    for name in ("alias_bomb.yaml", "deep_nesting.yaml", "recursive_alias.yaml")
    if (DATA / folder / name).is_file()
]


def best(read, repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``read``, refusals included."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with contextlib.suppress(ConfigError):
            read()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scenario = ROOT / "scenarios" / "small.yaml"
    plain = best(lambda: read_yaml_mapping(scenario), args.repeats)
    print(f"reading {scenario.name}: {plain * 1000:7.1f} ms")
    for path in HOSTILE:
        refused = best(lambda path=path: read_yaml_mapping(path), args.repeats)
        label = f"{path.parent.name}/{path.name} ({path.stat().st_size} bytes)"
        print(f"refusing {label:45} {refused * 1000:7.1f} ms  ratio {refused / plain:5.2f}")


if __name__ == "__main__":
    main()
