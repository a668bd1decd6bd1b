"""The decision report is inert, self-contained HTML, whatever the names in the batch say."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from toolkit.cli import main
from toolkit.experiments import run_batch
from toolkit.report import load_batch, plan_table
from toolkit.report.data import ReportError
from toolkit.report.escaping import md_code, md_text
from toolkit.report.render import check_output

from .conftest import SCENARIOS

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SVG = '"><svg onload=alert(1)>'
LINK = "[click](javascript:alert(1))"
PLAN = f"`{IMG}` {SVG} $^$"  # a backtick, and dollars matplotlib cannot read as mathtext
SCENARIO = f"small {SVG}"
TITLE = f"{SCRIPT} {LINK} {SVG}"
DESCRIPTION = f"{SCRIPT} {IMG}\n\n{LINK} <a href='javascript:alert(1)'>x</a>"
PLACEHOLDER = "No description has been provided for this image"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
LOADING = {"script": "src", "img": "src", "iframe": "src", "embed": "src", "source": "src"}


class Page(HTMLParser):
    """Every element with its attributes, the text of the page and of each table cell."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.cells: list[str] = []
        self.styles: list[str] = []
        self.title = ""
        self._open: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        if tag not in VOID:
            self._open.append(tag)
        if tag in ("td", "th"):
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data):
        self.text.append(data)
        if "style" in self._open[-1:]:
            self.styles.append(data)
        elif "title" in self._open[-1:]:
            self.title += data
        elif {"td", "th"} & set(self._open) and self.cells:
            self.cells[-1] += data

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.elements if name == tag]


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    """A batch of two plans on two seeds whose names and descriptions are markup."""
    root = tmp_path_factory.mktemp("hostile")
    scenario = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    scenario["name"] = SCENARIO
    scenario["description"] = DESCRIPTION
    for team in scenario["organisation"]["teams"]:
        team["name"] = f"{team['name']} {SCRIPT}"
    (root / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    plan = yaml.safe_load((SCENARIOS / "plans" / "mttr_only.yaml").read_text())
    plan["name"] = PLAN
    plan["description"] = DESCRIPTION
    (root / "hostile.yaml").write_text(yaml.safe_dump(plan))
    out = root / "batch"
    result = run_batch(
        [str(root / "scenario.yaml")],
        ["no_incentive", str(root / "hostile.yaml")],
        2,
        out,
        workers=2,
        progress=False,
    )
    assert result.failures == []
    return out


@pytest.fixture(scope="module")
def rendered(hostile_batch, tmp_path_factory):
    """The report on the hostile batch, the files it wrote and the batch's files before."""
    before = {p: p.stat().st_mtime_ns for p in hostile_batch.rglob("*")}
    where = tmp_path_factory.mktemp("rendered")
    out = where / "report.html"
    assert main(["report", str(hostile_batch), "--out", str(out), "--title", TITLE]) == 0
    after = {p: p.stat().st_mtime_ns for p in hostile_batch.rglob("*")}
    return out, Page(out.read_text(encoding="utf-8")), sorted(where.iterdir()), before == after


def test_no_markup_from_the_batch_or_the_title_can_run(rendered):
    _, page, _, _ = rendered
    assert page.all("script") == []
    assert page.all("svg") == []
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), (tag, name, value)
            assert not re.match(r"\s*javascript:", value, re.I), (tag, name, value)
    for img in page.all("img"):
        assert img["src"].startswith("data:image/png;base64,")


def test_names_descriptions_and_title_are_shown_as_text(rendered):
    _, page, _, _ = rendered
    text = " ".join(" ".join(page.text).split())
    for payload in (SCRIPT, IMG, SVG, LINK, "<a href='javascript:alert(1)'>x</a>"):
        assert payload in text
    assert " ".join(TITLE.split()) in text and PLAN in text and SCENARIO in text
    assert PLAN in page.cells  # the plan comparison's cell holds the name, escaped
    assert page.title == TITLE


def test_the_page_loads_nothing_from_elsewhere(rendered):
    _, page, _, _ = rendered
    for tag, attribute in LOADING.items():
        for attrs in page.all(tag):
            assert not re.match(r"\s*(https?:)?//", attrs.get(attribute, ""), re.I), attrs
    for attrs in page.all("link"):
        assert not re.match(r"\s*(https?:)?//", attrs.get("href", ""), re.I), attrs
    for style in page.styles:
        assert not re.search(r"@import|url\(\s*['\"]?\s*(https?:)?//", style, re.I)
    policies = [
        attrs["content"]
        for attrs in page.all("meta")
        if attrs.get("http-equiv", "").lower() == "content-security-policy"
    ]
    assert policies and "default-src 'none'" in policies[0] and "script-src" not in policies[0]


def test_every_figure_is_described(rendered):
    _, page, _, _ = rendered
    images = page.all("img")
    assert len(images) >= 6
    for img in images:
        alt = img.get("alt", "").strip()
        assert alt and alt != PLACEHOLDER
        assert PLAN in alt and "no_incentive" in alt
    [frontier] = [i["alt"] for i in images if i["alt"].startswith("What each plan buys")]
    assert f"{PLAN}: net value EUR " in frontier and "no_incentive: net value EUR 0" in frontier


def test_the_report_writes_its_two_files_and_nothing_else(rendered):
    out, _, files, batch_untouched = rendered
    assert files == [out.with_suffix(".html"), out.with_suffix(".ipynb")]
    assert batch_untouched
    assert check_output(out) == (out, out.with_suffix(".ipynb"))  # a report may be redone


def test_table_cells_and_headings_are_escaped(hostile_batch):
    page = plan_table(load_batch(hostile_batch)).to_html()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and IMG not in page


@pytest.mark.parametrize(
    "text", [SCRIPT, IMG, SVG, LINK, DESCRIPTION, "a`b``c", "`", "# x\n- y\n\n<b>z</b>", "\\<i>"]
)
def test_markdown_from_user_text_renders_as_that_text(text):
    from nbconvert.exporters import HTMLExporter

    shown = " ".join(text.split())
    for markdown in (md_text(text), md_code(text)):
        page = Page(HTMLExporter().markdown2html({}, f"Plan {markdown} here"))
        assert [tag for tag, _ in page.elements] in (["p"], ["p", "code"])
        assert " ".join("".join(page.text).split()) == f"Plan {shown} here"


@pytest.mark.parametrize("name", ["r.htm", "r.pdf", "report", "r.html.ipynb", ".html"])
def test_an_output_that_is_not_html_is_refused_before_anything_runs(tmp_path, capsys, name):
    out = tmp_path / name
    assert main(["report", str(tmp_path / "no-batch"), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "ending in .html" in error and len(error.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_would_overwrite_another_file_is_refused(tmp_path, capsys):
    mine = tmp_path / "notes.ipynb"
    mine.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4}))
    (tmp_path / "folder.html").mkdir()
    for out, message in (
        (tmp_path / "notes.html", "is not an executed decision report"),
        (tmp_path / "folder.html", "is a directory"),
    ):
        assert main(["report", str(tmp_path / "no-batch"), "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert message in error and len(error.strip().splitlines()) == 1
    assert json.loads(mine.read_text())["metadata"] == {}
    with pytest.raises(ReportError, match="is a file"):
        check_output(Path(mine, "sub", "r.html"))
