"""`lti course build`: refusals before anything runs, and a failing notebook writes nothing."""

from pathlib import Path

import nbformat
import pytest

import toolkit.course.build as build
from toolkit.cli import main
from toolkit.course.build import CourseError, build_course, choose_modules, index_page
from toolkit.course.catalogue import module


def _notebook(path: Path, parameters: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


PARAMETERS = 'scenario = "small"\nseeds = 2\noutput_dir = "x"\nworkers = 1\nprogress = True'


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A course of one module notebook and no template notebooks."""
    modules = tmp_path / "modules"
    _notebook(
        modules / f"{module(1).stem}.ipynb",
        PARAMETERS + "\nreference_plan = 'no_incentive'",
        "raise ValueError('the model broke')",
    )
    monkeypatch.setattr(build, "MODULE_NOTEBOOKS_DIR", modules)
    monkeypatch.setattr(build, "template_notebooks", lambda: [])
    return tmp_path


def test_modules_are_chosen_by_number_and_refused_when_unknown_or_without_notebook(toy):
    assert list(choose_modules(None)) == [1]
    assert list(choose_modules([1])) == [1]
    with pytest.raises(CourseError, match="has no module 9"):
        choose_modules([9])
    with pytest.raises(CourseError, match="module 3 has no notebook yet; modules with one: 1"):
        choose_modules([3])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parameters": {"referense_plan": "x"}}, "unknown parameter 'referense_plan'; did you"),
        ({"parameters": {"output_dir": "x"}}, "'output_dir' is set by the build"),
        ({"parameters": {"seeds": "many"}}, "'seeds' must be a whole number"),
        ({"scenario": "smal"}, "no shipped scenario named 'smal'; did you mean 'small'"),
        ({"scenario": "missing/file.yaml"}, "scenario file missing/file.yaml not found"),
        ({"seeds": 0}, "seeds must be at least 1"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"workers": -2}, "workers must be at least 1"),
    ],
)
def test_bad_requests_are_refused_before_anything_runs(toy, kwargs, message):
    out = toy / "course"
    with pytest.raises(CourseError, match=message):
        build_course(out, **kwargs)
    assert not out.exists()


def test_a_directory_that_is_not_a_course_build_is_refused(toy, capsys):
    out = toy / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["course", "build", "--out", str(out)]) == 2
    assert "choose another directory or give --force" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"


def test_a_failing_notebook_fails_the_build_naming_it_and_writes_nothing(toy, capsys):
    out = toy / "course"
    code = main(["course", "build", "--out", str(out), "--seeds", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{module(1).stem}: cell" in err and "ValueError: the model broke" in err
    assert not out.exists()
    assert not [p for p in toy.iterdir() if p.name.startswith(".course")]


def test_the_index_links_every_module_and_escapes_names(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "<b>plan<b>.md").write_text("x")
    record = {
        "scenario": "/x/<script>.yaml",
        "seeds": 2,
        "plans": ["no_incentive", "<img onerror=x>"],
        "modules": [1],
        "notebooks": [{"stem": module(1).stem, "kind": "module", "page": "modules/m.html"}],
    }
    page = index_page(record, tmp_path)
    assert '<a href="modules/m.html">Module 1: ' in page
    assert "1.4 Integrate customer satisfaction" in page
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;b&gt;plan&lt;b&gt;.md" in page and "%3Cb%3Eplan" in page
