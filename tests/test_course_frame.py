"""The course frame: catalogue, exercise checks, wording and the section check."""

import nbformat
import pytest

from toolkit.course.catalogue import MODULES, module, topic
from toolkit.course.exercises import MARK, Check, failed, passed
from toolkit.course.sections import section_problems, topic_sections
from toolkit.course.wording import interval_words, listing, money, number, share


def test_the_catalogue_has_eight_modules_of_six_topics_numbered_in_order():
    assert [m.number for m in MODULES] == list(range(1, 9))
    for m in MODULES:
        assert [t.number for t in m.topics] == [f"{m.number}.{i}" for i in range(1, 7)]
        assert m.stem.startswith(f"0{m.number}_")
    assert "customer satisfaction" in topic("1.4").question
    with pytest.raises(KeyError, match="no module 9"):
        module(9)
    with pytest.raises(KeyError, match="9.1"):
        topic("9.1")


def test_a_check_says_its_verdict_and_gives_the_hint_only_when_not_met():
    good = passed("1.1", "The gap is 0.4 points.")
    bad = failed("1.1", "The gap is 4 points.", "Add a guard.")
    assert good and not bad
    assert "goal met" in good.text() and "Hint" not in good.text()
    assert "not yet" in bad.text() and "Hint: Add a guard." in bad.text()
    assert MARK in bad._repr_markdown_() and "*Hint:* Add a guard." in bad._repr_markdown_()
    assert "Hint" not in Check("1.1", True, "ok", "unused")._repr_markdown_()


def test_wording_formats_numbers_and_reads_intervals():
    assert money(2_520_000) == "2.52 M EUR"
    assert money(-1234.4, "USD") == "-1,234 USD"
    assert money(float("nan")) == "n/a"
    assert share(0.1234) == "12.3 %"
    assert number(3.14159, 1) == "3.1"
    assert interval_words(0.1, 2.0) == "clearly above zero"
    assert interval_words(-2.0, -0.1) == "clearly below zero"
    assert interval_words(-1.0, 1.0) == "not distinguishable from zero"
    assert "one seed" in interval_words(float("nan"), float("nan"))
    assert listing([]) == "none"
    assert listing(["a", "b", "c"]) == "a, b and c"


def _notebook(sections):
    nb = nbformat.v4.new_notebook()
    for heading, outputs in sections:
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## {heading} A topic\n\nQuestion."))
        cell = nbformat.v4.new_code_cell("x = 1")
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_markdown_cell("## Summary"))
    nb.cells.append(nbformat.v4.new_code_cell("y = 2"))
    return nb


def _display(mime, text):
    return {"output_type": "display_data", "data": {mime: text}, "metadata": {}}


WHOLE = [
    _display("text/html", "<table><tr><td>1</td></tr></table>"),
    _display("text/markdown", "The gap is 3 points."),
    _display("text/markdown", f"> {MARK} 1.1: **Not yet.**"),
]


def test_a_whole_module_notebook_has_no_problems():
    nb = _notebook([(t.number, WHOLE) for t in module(1).topics])
    sections = topic_sections(nb)
    assert list(sections) == [t.number for t in module(1).topics]
    assert all(len(cells) == 2 for cells in sections.values())  # the summary is in none
    assert section_problems(nb, module(1)) == []


def test_the_section_check_names_each_missing_piece():
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}
    figure_only = [_display("image/png", "iVBOR")]
    sections = [("1.1", WHOLE), ("1.2", figure_only), ("1.3", [*WHOLE, error])]
    problems = section_problems(_notebook(sections), module(1))
    assert "topic 1.2: writes no interpretation (Markdown output)" in problems
    assert "topic 1.2: shows no exercise check" in problems
    assert not any(p.startswith("topic 1.2: shows no table") for p in problems)
    assert "topic 1.3: a cell failed with ValueError: bad" in problems
    assert "topic 1.4: no section headed '## 1.4 ...'" in problems
    assert not any(p.startswith("topic 1.1") for p in problems)
