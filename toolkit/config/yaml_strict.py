"""Read YAML strictly and within bounds.

Duplicate keys, impossible dates, non-finite numbers and non-mapping documents are refused. So
is any document too large, too deeply nested or expanding through aliases beyond a small
budget: anchors and aliases are allowed (they are plain YAML), but a few hundred bytes of
nested aliases can stand for billions of values, so the document is measured as it would be
expanded, once per node, before anything walks or builds it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from toolkit.config.errors import ConfigError, Problem

TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
FLOAT_TAG = "tag:yaml.org,2002:float"
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_EXPANDED_NODES = 100_000
_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` from the event stream.

    The parser is iterative, so this is safe on any input, whereas composing a node tree
    recurses once per level.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1
                raise ConfigError(
                    "",
                    [
                        Problem(
                            "",
                            f"nested more than {MAX_DEPTH} levels deep (at line {line}); "
                            "no scenario or plan needs that",
                        )
                    ],
                )
        elif isinstance(event, _CLOSING):
            depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """Count the nodes of the document as expanded, each shared node measured once.

    Raises
    ------
    ValueError
        If an alias refers to a node that contains it (a recursive document).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if key in open_nodes:
            raise ValueError(f"an alias on line {node.start_mark.line + 1} refers to itself")
        open_nodes.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise ValueError(
                    f"an alias on line {node.start_mark.line + 1} refers to a node that contains it"
                )
            stack.append((child, False))
    return sizes[id(root)]


def _finite(node: yaml.ScalarNode) -> bool:
    return math.isfinite(yaml.SafeLoader("").construct_yaml_float(node))


def _node_problems(node: yaml.Node, path: str = "") -> list[Problem]:
    """Find keys given twice, impossible dates and non-finite numbers in a composed document.

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
            problems += _node_problems(key_node, _child(path, key))
            problems += _node_problems(value_node, _child(path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _node_problems(item, f"{path}[{i}]")
    elif isinstance(node, yaml.ScalarNode) and node.tag == TIMESTAMP_TAG:
        try:
            yaml.SafeLoader("").construct_yaml_timestamp(node)
        except ValueError as exc:
            problems.append(Problem(path, f"{node.value!r} is not a valid date ({exc})"))
    elif isinstance(node, yaml.ScalarNode) and node.tag == FLOAT_TAG and not _finite(node):
        problems.append(
            Problem(
                path,
                f"must be a finite number (got {node.value!r}); infinity and not-a-number "
                "are refused",
            )
        )
    return problems


def _compose(text: str) -> yaml.Node | None:
    """Compose the document once its depth and expanded size are known to be bounded."""
    _check_depth(text)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return None
    try:
        size = _expanded_size(node)
    except ValueError as exc:
        raise ConfigError("", [Problem("", f"{exc}; recursive documents are refused")]) from None
    if size > MAX_EXPANDED_NODES:
        raise ConfigError(
            "",
            [
                Problem(
                    "",
                    f"expands through aliases to more than {MAX_EXPANDED_NODES:,} values "
                    f"({size:,}); anchors and aliases are allowed only within that budget",
                )
            ],
        )
    return node


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
        If the file is missing, unreadable, larger than :data:`MAX_FILE_BYTES`, empty, not
        YAML, nested deeper than :data:`MAX_DEPTH`, expands through aliases to more than
        :data:`MAX_EXPANDED_NODES` values, has duplicate keys, impossible dates or non-finite
        numbers, or its top level is not a mapping.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES and path.is_file():
            raise ConfigError(
                path,
                [
                    Problem(
                        "", f"is {size:,} bytes; files larger than {MAX_FILE_BYTES:,} are refused"
                    )
                ],
            )
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
        node = _compose(text)
        problems = _node_problems(node) if node is not None else []
        if problems:
            raise ConfigError(path, problems)
        data = yaml.safe_load(text)
    except ConfigError as exc:
        raise ConfigError(path, exc.problems) from None
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
