"""Read YAML strictly: duplicate keys and non-mapping documents are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from toolkit.config.errors import ConfigError, Problem

TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _node_problems(node: yaml.Node, path: str = "") -> list[Problem]:
    """Find keys given twice and impossible dates anywhere in a composed document.

    Working on the node tree (before anything is built) lets every such problem be reported at
    once, each with its key path, rather than the first one with a line number only.
    """
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        _child(path, key),
                        f"key {key!r} is given twice (first on line {seen[key]}, again on "
                        f"line {line}); the second would silently replace the first",
                    )
                )
            else:
                seen[key] = line
            problems += _node_problems(value_node, _child(path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _node_problems(item, f"{path}[{i}]")
    elif isinstance(node, yaml.ScalarNode) and node.tag == TIMESTAMP_TAG:
        try:
            yaml.SafeLoader("").construct_yaml_timestamp(node)
        except ValueError as exc:
            problems.append(Problem(path, f"{node.value!r} is not a valid date ({exc})"))
    return problems


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file whose top level must be a mapping.

    Parameters
    ----------
    path : str or Path
        The file to read.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, empty, not YAML, has duplicate keys or its top
        level is not a mapping.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, [Problem("", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError(path, [Problem("", "is a directory, not a file")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [Problem("", f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise ConfigError(path, [Problem("", f"cannot be read ({exc.strerror})")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        problems = _node_problems(node) if node is not None else []
        if problems:
            raise ConfigError(path, problems)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, [Problem("", f"not valid YAML: {where}{exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, [Problem("", f"not valid YAML: {exc}")]) from None
    if data is None:
        raise ConfigError(path, [Problem("", "file is empty")])
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(path, [Problem("", f"top level must be a mapping of keys, not a {kind}")])
    return data
