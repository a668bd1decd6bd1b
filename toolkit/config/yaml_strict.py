"""Read YAML strictly: duplicate keys and non-mapping documents are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from toolkit.config.errors import ConfigError, Problem


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is given twice (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


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
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, [Problem("", f"not valid YAML: {where}{exc.problem}")]) from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: e.g. a date like 2025-02-30
        raise ConfigError(path, [Problem("", f"not valid YAML: {exc}")]) from None
    if data is None:
        raise ConfigError(path, [Problem("", "file is empty")])
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(path, [Problem("", f"top level must be a mapping of keys, not a {kind}")])
    return data
