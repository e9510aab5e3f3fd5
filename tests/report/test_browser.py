"""The report and the review app in a real browser (Debian's Chromium driven by Playwright).

Screenshots of each page go to out/test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "out" / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app: object) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on 127.0.0.1; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (.ci/run installs it)")

IN_VIEW = """(el) => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    opened = context.new_page()
    blocked: list[str] = []
    opened.on("request", lambda r: blocked.append(r.url) if r.url.startswith(("http:", "https:")) else None)
    opened.blocked = blocked
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    """Save a screenshot for a human reviewer. An artifact, not a check: on a loaded machine
    headless Chromium sometimes answers "Unable to capture screenshot", so one retry, then
    a warning (the assertions around each shot are what the tests check)."""
    from playwright.sync_api import Error

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for attempt in range(2):
        try:
            page.screenshot(path=str(ARTIFACTS / name), full_page=False)
            return
        except Error as exc:
            if attempt:
                warnings.warn(f"screenshot {name} not saved: {exc.message.splitlines()[0]}", stacklevel=2)
            else:
                page.wait_for_timeout(500)


def test_report_evidence_click_scrolls_to_highlighted_span(page: Any, files: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from extractor.cli.app import app

    output = tmp_path / "report.html"
    args = ["report", str(files["verdicts"]), "--notes", str(files["notes"]), "--facts", str(files["facts"])]
    assert CliRunner().invoke(app, [*args, "-o", str(output)]).exit_code == 0
    page.goto(output.as_uri())
    shot(page, "report-list.png")
    page.fill("#filter-text", "P002")
    assert page.locator("#patient-rows tr:visible").count() == 1
    page.fill("#filter-text", "")
    page.click("text=P001")
    assert page.locator("#patient-0").is_visible()
    assert not page.locator("#patients").is_visible()
    shot(page, "report-patient.png")
    page.click("#patient-0-c-exc-tb a.ev-link")
    key = _key(files, "tuberculosis")
    mark = page.locator(f'#note-p0-n1 mark[data-keys~="{key}"]')
    assert mark.inner_text() == "tuberculosis"
    assert "active" in mark.get_attribute("class")
    assert mark.evaluate(IN_VIEW)
    assert page.evaluate("document.activeElement.textContent") == "tuberculosis"
    shot(page, "report-evidence.png")
    page.emulate_media(media="print")  # on paper: every patient, highlights as underlines, no controls
    assert page.locator("#patient-1").is_visible()
    assert not page.locator(".filters").is_visible()
    page.evaluate("window.scrollTo(0, document.getElementById('patient-0').offsetTop)")
    shot(page, "report-print.png")
    assert page.blocked == []  # self-contained: the file loads nothing from a network


def _key(files: dict[str, Path], words: str) -> str:
    text = json.loads(files["notes"].read_text().splitlines()[1])["text"]
    start = text.index(words)
    return f"{start}-{start + len(words)}"


def test_review_app_decision_persists_and_exports(page: Any, store_path: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from extractor.cli.app import app
    from extractor.report.app import create_app

    with serving(create_app(store_path)) as base:
        page.goto(base + "/")
        page.fill("#reviewer-name", "Dr Ada")
        page.click("text=Set name")
        shot(page, "review-list.png")
        page.click("text=P001")
        row = page.locator("#patient-0-c-exc-tb")
        row.locator("input[value=wrong]").check()
        row.locator("select[name=corrected]").select_option("not_met")
        row.locator("input[name=comment]").fill("TB treated, not active")
        row.locator("button").click()
        page.wait_for_load_state()
        shot(page, "review-patient.png")
    with serving(create_app(store_path)) as base:  # a restart: a new app on the same store
        page.goto(base + "/")
        page.click("text=P001")
        decision = page.locator("#patient-0-c-exc-tb .decision").inner_text()
        assert "WRONG" in decision.upper()
        assert "not_met" in decision
        assert "Dr Ada" in decision
        shot(page, "review-after-restart.png")
    exported = tmp_path / "reviews.jsonl"
    result = CliRunner().invoke(app, ["export-reviews", "--store", str(store_path), "-o", str(exported)])
    assert result.exit_code == 0
    [record] = [json.loads(line) for line in exported.read_text().splitlines()]
    assert (record["reviewer"], record["target_id"], record["predicted"], record["decision"], record["corrected"]) == (
        "Dr Ada",
        "exc-tb",
        "met",
        "wrong",
        "not_met",
    )
