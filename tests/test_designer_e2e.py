"""The served plan designer in a real browser: edit a weight, run a comparison, read the results.

``lti designer`` is started on a free port of 127.0.0.1 with a cheap configuration (scenario
small, one seed, the edited plan against fixed pay); headless Chromium from the system's packages
(``/usr/bin/chromium``, installed by ``.ci/run`` when missing; Playwright never downloads one)
opens the page, sets the first metric's weight to 0 (refused, with the message beside the field)
and then to 0.35, runs the comparison and finds the results table and the frontier figure. The
server is stopped as Ctrl-C stops it, and must exit 0.

Set ``LTI_DESIGNER_SCREENSHOT=docs/designer.png`` to keep a screenshot of the page with its
results (the README's picture is made so).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 60  # the server importing the toolkit, on a loaded machine
PAGE_MS = 90_000  # a kernel started and the notebook run for the page
RUN_MS = 120_000  # two plans x one seed through the batch machinery
EDIT_MS = 10_000  # an edit checked in the kernel and its message sent back
WEIGHT = "0.35"  # the first metric of careful weighs 0.25

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_url(server: subprocess.Popen, stdout: Path, port: int) -> str:
    """Wait until the command has printed its address and the port accepts connections."""
    deadline = time.monotonic() + START_SECONDS
    url = f"http://127.0.0.1:{port}/"
    while time.monotonic() < deadline:
        assert server.poll() is None, f"lti designer exited with {server.returncode}"
        if url in stdout.read_text():
            try:  # a connection only: a GET would start a kernel
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return url
            except OSError:
                pass
        time.sleep(0.2)
    pytest.fail(f"lti designer did not serve {url} within {START_SECONDS} s")


@pytest.fixture
def served(tmp_path):
    """Start ``lti designer`` on a free port; stop it as Ctrl-C does and check it exits 0."""
    port = _free_port()
    out = tmp_path / "designer"
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "toolkit", "designer", "--scenario", "small"]
    command += ["--plan", "careful", "--reference", "no_incentive", "--seeds", "1"]
    command += ["--port", str(port), "--out", str(out)]
    with stdout.open("w") as out_file, stderr.open("w") as err_file:
        server = subprocess.Popen(command, stdout=out_file, stderr=err_file, cwd=tmp_path)
    try:
        yield _wait_for_url(server, stdout, port), out
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            pytest.fail("lti designer did not stop within 60 s of SIGINT")
    assert code == 0, stderr.read_text()
    assert stderr.read_text().strip().endswith("lti designer: stopped")
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))


def test_a_weight_edited_in_the_browser_is_compared_and_shown_with_the_frontier(served):
    from playwright.sync_api import expect, sync_playwright

    url, out = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1500})
            page.goto(url, wait_until="commit")
            page.locator(".lti-designer").wait_for(timeout=PAGE_MS)

            problems = page.locator(".lti-message", has_text=re.compile(r"\S"))
            expect(problems).to_have_count(0)
            weight = page.locator(".lti-weight input").first
            weight.fill("0")  # a weight must be positive: the message shows beside the field
            weight.press("Enter")  # a text field sends its value on Enter or on leaving it
            expect(problems).to_have_count(1, timeout=EDIT_MS)
            refused = problems.first.inner_text()
            weight.fill(WEIGHT)
            weight.press("Enter")
            expect(problems).to_have_count(0, timeout=EDIT_MS)
            page.locator(".lti-run button, button.lti-run").first.click()

            table = page.locator(".lti-results table")
            table.wait_for(timeout=RUN_MS)
            frontier = page.locator(".lti-frontier img")
            frontier.wait_for(timeout=RUN_MS)
            rows = table.locator("tbody tr").all_inner_texts()
            alt = frontier.get_attribute("alt")
            if os.environ.get("LTI_DESIGNER_SCREENSHOT"):
                page.screenshot(path=os.environ["LTI_DESIGNER_SCREENSHOT"], full_page=True)
        finally:
            browser.close()

    assert any(row.startswith("careful_edited") and "edited" in row for row in rows), rows
    assert any(row.startswith("no_incentive") and "reference" in row for row in rows), rows
    assert alt.startswith("Frontier of net value against award cost") and "careful_edited" in alt
    assert "greater than 0 (got 0.0)" in refused, refused  # pydantic's, as lti validate says
    # The edit reached the plan the kernel ran: the page's session saved it with the new weight.
    (saved,) = out.glob("sessions/*/plans/careful_edited.yaml")
    metrics = yaml.safe_load(saved.read_text())["metrics"]
    assert metrics[0]["weight"] == float(WEIGHT)
