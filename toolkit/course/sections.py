"""Find each topic's section in an executed module notebook and say what it lacks.

A module notebook gives every topic a section headed ``## <number> <title>`` (e.g.
``## 1.1 Which KPIs ...``). Executed, a complete section shows a table (HTML ``<table>``) or a
figure (PNG), an interpretation written from the numbers (Markdown output), and the verdict of
its exercise check (:data:`toolkit.course.exercises.MARK`), and raises no error. The course build
and the tests use :func:`section_problems` to refuse a notebook whose sections fall short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from toolkit.course.catalogue import Module
from toolkit.course.exercises import MARK

HEADING = re.compile(r"^##\s+(\d+\.\d+)\b")


def topic_sections(notebook: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    """Split a notebook's cells into topic sections by their ``## <number>`` headings.

    Parameters
    ----------
    notebook : mapping
        A notebook (``nbformat`` node or its JSON as a dict).

    Returns
    -------
    dict
        Topic number → the cells from its heading up to the next heading of level one or two.
    """
    sections: dict[str, list[Mapping[str, Any]]] = {}
    current: list[Mapping[str, Any]] | None = None
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            source = _text(cell["source"]).lstrip()
            match = HEADING.match(source)
            if match:
                current = sections.setdefault(match.group(1), [])
            elif re.match(r"^#{1,2}\s", source):
                current = None
        if current is not None:
            current.append(cell)
    return sections


def _text(value: str | Iterable[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _outputs(cells: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]


def _shows(outputs: list[Mapping[str, Any]]) -> dict[str, bool]:
    found = {"table": False, "figure": False, "interpretation": False, "check": False}
    for output in outputs:
        data = output.get("data", {})
        if "image/png" in data or "image/svg+xml" in data:
            found["figure"] = True
        if "<table" in _text(data.get("text/html", "")):
            found["table"] = True
        markdown = _text(data.get("text/markdown", ""))
        if MARK in markdown or MARK in _text(data.get("text/plain", "")):
            found["check"] = True
        elif markdown.strip():
            found["interpretation"] = True
    return found


def section_problems(notebook: Mapping[str, Any], module: Module) -> list[str]:
    """List what the executed notebook's topic sections lack; empty when every one is whole.

    Parameters
    ----------
    notebook : mapping
        The executed module notebook.
    module : Module
        The module it teaches, whose topics it must cover.

    Returns
    -------
    list of str
        One line per problem: a missing section, a section without a table or figure, without
        an interpretation, without its exercise check, or with an error.
    """
    sections = topic_sections(notebook)
    problems = []
    for topic in module.topics:
        if topic.number not in sections:
            problems.append(f"topic {topic.number}: no section headed '## {topic.number} ...'")
            continue
        outputs = _outputs(sections[topic.number])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors:
            first = errors[0]
            problems.append(
                f"topic {topic.number}: a cell failed with {first.get('ename')}: "
                f"{first.get('evalue')}"
            )
        shown = _shows(outputs)
        if not (shown["table"] or shown["figure"]):
            problems.append(f"topic {topic.number}: shows no table or figure")
        if not shown["interpretation"]:
            problems.append(f"topic {topic.number}: writes no interpretation (Markdown output)")
        if not shown["check"]:
            problems.append(f"topic {topic.number}: shows no exercise check")
    return problems
