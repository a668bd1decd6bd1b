"""``lti designer`` refuses bad arguments before serving and serves the notebook it was given.

The browser test (tests/test_designer_e2e.py) serves the app; these check the refusals, each a
one-line message and exit code 2 without a server started, and the notebook the server is given.
"""

import argparse
import socket

import nbformat
import pytest

from toolkit.cli import main
from toolkit.cli.designer_commands import write_app_notebook
from toolkit.resources import DESIGNER_NOTEBOOK


def _refused(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["designer", *args])
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "smal"], "no shipped scenario named 'smal'; did you mean 'small'"),
        (["--port", "0"], "--port: must be between 1 and 65535 (got 0)"),
        (["--port", "65536"], "--port: must be between 1 and 65535 (got 65536)"),
        (["--port", "eight"], "--port: must be a whole number (got 'eight')"),
        (["--seeds", "-1"], "--seeds: must be between 0 and"),
    ],
)
def test_bad_arguments_are_refused_by_the_parser_in_one_line(capsys, args, message):
    assert message in _refused(capsys, *args)


def _run(capsys, tmp_path, *args: str) -> tuple[int, str]:
    code = main(["designer", "--out", str(tmp_path / "out"), *args])
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--plan", "no plan named 'carefull'"),
        ("--reference", "no plan named 'carefull'"),
        ("--compare", "no plan named 'carefull'"),
    ],
)
def test_an_unknown_plan_is_refused_before_serving(capsys, tmp_path, option, message):
    code, error = _run(capsys, tmp_path, option, "carefull")
    assert code == 2 and message in error and "did you mean 'careful'" in error
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_port_in_use_is_refused(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, error = _run(capsys, tmp_path, "--port", str(port))
    assert code == 2
    assert error == (
        f"lti designer: --port {port}: port {port} on 127.0.0.1 is in use; give another with "
        "--port N"
    )


def test_an_output_path_that_is_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "out").write_text("not a directory")
    with socket.socket() as probe:  # a free port, so that only --out is wrong
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, error = _run(capsys, tmp_path, "--port", str(port))
    assert code == 2
    assert (
        error
        == f"lti designer: --out {tmp_path / 'out'}: is a file, not a directory; give a directory"
    )


def test_the_served_notebook_is_the_designer_with_the_choices_injected(tmp_path):
    plan_file = tmp_path / "mine.yaml"
    args = argparse.Namespace(
        scenario="small",
        plan=str(plan_file),
        reference="no_incentive",
        compare=["balanced"],
        seeds=[4, 5],
    )
    served = nbformat.read(write_app_notebook(args, tmp_path), as_version=4)
    shipped = nbformat.read(DESIGNER_NOTEBOOK, as_version=4)
    injected = [c for c in served.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    namespace: dict = {}
    exec(injected[0].source, namespace)  # the parameters as the kernel will set them
    assert {k: namespace[k] for k in ("scenario", "plan", "reference", "compare", "seeds")} == {
        "scenario": "small",
        "plan": str(plan_file.resolve()),  # a file is made absolute: the kernel runs elsewhere
        "reference": "no_incentive",
        "compare": ["balanced"],
        "seeds": [4, 5],
    }
    # every other cell is the shipped notebook's, in its order
    kept = [c.source for c in served.cells if c is not injected[0]]
    assert kept == [c.source for c in shipped.cells]
    assert "PlanDesigner(" in kept[-1]
