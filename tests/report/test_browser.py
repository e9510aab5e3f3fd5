"""The report and the review app in a real browser (Debian's Chromium driven by Playwright).

Screenshots of each page go to out/test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import re
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
from report_material import TRIAL
from test_review_app import PASSWORD, add_reviewer

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


P001, P002 = f"p-P001--{TRIAL}", f"p-P002--{TRIAL}"
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


def test_report_shows_why_and_links_evidence_both_ways(page: Any, files: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from extractor.cli.app import app

    output = tmp_path / "report.html"
    args = ["report", str(files["verdicts"]), "--notes", str(files["notes"]), "--facts", str(files["facts"])]
    assert CliRunner().invoke(app, [*args, "-o", str(output)]).exit_code == 0
    page.goto(output.as_uri())
    assert page.locator("#cohort figure.funnel svg[role=img]").is_visible()
    assert page.locator("#cohort svg title").first.text_content().startswith("Cohort funnel")
    row = page.locator("#patient-rows tr[data-patient=P001]")
    assert "Excluded by: exc-tuberculosis" in row.inner_text()
    assert "To check: exc-cns-lupus" in row.inner_text()
    shot(page, "report-list.png")
    page.fill("#filter-criterion", "tuberc")
    assert page.locator("#patient-rows tr:visible").count() == 1
    page.fill("#filter-criterion", "")
    row.locator("a").first.click()
    patient = page.locator(f"#{P001}")
    assert patient.is_visible()
    assert not page.locator("#patients").is_visible()
    tb = page.locator(f"#{P001}-c-exc-tuberculosis")
    assert tb.locator(".effect").inner_text() == "\u2298 Excludes"  # a met exclusion: out, in red, never a tick
    assert tb.locator(".effect").evaluate("e => getComputedStyle(e).color") == "rgb(165, 29, 45)"
    assert "History of TB" in tb.locator(".protocol").inner_text()
    shot(page, "report-patient.png")
    tb.locator("a.ev-link").click()
    key = _key(files, "tuberculosis")
    mark = page.locator(f'#note-{P001}-n-P001-N2 mark[data-keys~="{key}"]')
    assert mark.inner_text() == "tuberculosis"
    assert "active" in mark.get_attribute("class")
    assert mark.evaluate(IN_VIEW)
    assert "exc-tuberculosis: excludes" in mark.get_attribute("title")
    page.evaluate("window.scrollTo(0, 0)")
    mark.click()  # and back: the highlight leads to its criterion
    assert "active" in tb.get_attribute("class")
    assert tb.evaluate(IN_VIEW)
    assert page.evaluate("location.hash") == f"#{P001}-c-exc-tuberculosis"
    shot(page, "report-evidence.png")
    cue = page.locator(f"#note-{P001}-n-P001-N1 mark.cue").first
    assert (cue.inner_text(), cue.get_attribute("title")) == ("No", "negation cue for fever")
    page.locator(f"#{P001} button.effect-sort").click()  # what decides the verdict comes first
    assert page.locator(f"#{P001} tr.criterion").first.get_attribute("data-effect") == "excludes"
    page.locator(f"#{P001} select.effect-filter").select_option("excludes")
    assert page.locator(f"#{P001} tr.criterion:visible").count() == 1
    page.emulate_media(media="print")  # on paper: every patient, highlights as underlines, no controls
    assert page.locator(f"#{P002}").is_visible()
    assert not page.locator(".filters").first.is_visible()
    assert page.blocked == []  # self-contained: the file loads nothing from a network


def _key(files: dict[str, Path], words: str) -> str:
    text = json.loads(files["notes"].read_text().splitlines()[1])["text"]
    start = text.index(words)
    return f"{start}-{start + len(words)}"


def _log_in(page: Any, base: str) -> None:
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")  # nothing without a login
    page.fill("#login-name", "Ada")
    page.fill("#login-password", PASSWORD)
    page.click("button:text('Log in')")
    page.wait_for_url(base + "/")


def test_a_keyboard_review_session_signs_the_recomputed_overall(page: Any, store_path: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from extractor.cli.app import app
    from extractor.report.app import create_app

    add_reviewer(store_path)
    with serving(create_app(store_path)) as base:
        _log_in(page, base)
        shot(page, "review-list.png")
        page.click("#patient-rows a:text('P001')")
        page.wait_for_selector("tr.criterion")
        page.keyboard.press("j")  # first criterion
        page.keyboard.press("c")  # correct, saved in place
        first = page.locator(f"#{P001}-c-inc-sle-diagnosis .decision")
        first.get_by_text("correct").wait_for()
        page.keyboard.press("j")
        page.keyboard.press("j")  # exc-tuberculosis
        scrolled = page.evaluate("window.scrollY")
        page.keyboard.press("w")  # wrong: the right value's list takes the focus
        page.locator(f"#{P001}-c-exc-tuberculosis select[name=corrected]").select_option("not_met")
        page.keyboard.press("Enter")
        page.locator(f"#{P001}-c-exc-tuberculosis .decision").get_by_text("not_met").wait_for()
        assert page.evaluate("window.scrollY") == scrolled  # the reviewer keeps their place
        recomputed = page.locator("#recomputed-overall")
        assert recomputed.get_attribute("data-overall") == "needs_review"  # TB corrected; seizure still to check
        assert page.locator("form.signoff-form .recomputed-label").inner_text() == "Needs review"
        shot(page, "review-patient.png")
        signoff = page.locator("form.signoff-form")
        signoff.locator("button").click()  # no choice made: told so beside the form, nothing lost
        signoff.locator(".form-error", has_text="choose correct or wrong").wait_for()
        signoff.locator("input[value=correct]").check()
        signoff.locator("button").click()
        page.locator(f"#{P001}-signoff .decision", has_text="Signed off as Needs review by Ada").wait_for()
        shot(page, "review-signoff.png")
        exported = tmp_path / "reviews.jsonl"  # while the app runs
        result = CliRunner().invoke(app, ["export-reviews", "--store", str(store_path), "-o", str(exported)])
        assert result.exit_code == 0, result.output
        page.keyboard.press("n")
        page.wait_for_url(re.compile(r".*/patients/P002.*"))
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [(r["target_id"], r["decision"], r["corrected"], r["predicted"]) for r in records] == [
        ("inc-sle-diagnosis", "correct", None, "met"),
        ("exc-tuberculosis", "wrong", "not_met", "met"),
        ("overall", "correct", None, "needs_review"),
    ]
    assert all(r["reviewer"] == "Ada" and r["reviewed_at"].endswith(("Z", "+00:00")) for r in records)


ATTACK = """<!DOCTYPE html><html><body><form id="f" method="post" action="{action}">
<input name="trial" value="blinatumomab-sle"><input name="target" value="criterion">
<input name="target_id" value="exc-tuberculosis"><input name="decision" value="correct">
<input name="csrf" value="guessed"></form>
<script>document.getElementById("f").submit();</script></body></html>"""


def test_only_logged_in_reviewers_on_this_origin_and_host_can_sign(page: Any, store_path: Path) -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from extractor.report import reviews
    from extractor.report.app import create_app
    from extractor.store import Store

    add_reviewer(store_path)
    with serving(create_app(store_path)) as base:
        _log_in(page, base)
        attack = ATTACK.format(action=f"{base}/patients/P001/reviews")
        evil = Starlette(routes=[Route("/", lambda request: HTMLResponse(attack))])
        with serving(evil) as elsewhere:  # another port of 127.0.0.1: same site, another origin
            with page.expect_response(f"{base}/patients/P001/reviews") as answer:
                page.goto(elsewhere + "/")
            assert answer.value.status == 403
            shot(page, "review-cross-origin-refused.png")
        forged = httpx.get(base + "/login", headers={"Host": "rebound.example"})
        assert forged.status_code == 400  # DNS rebinding: a foreign Host name is not served
        framed = httpx.get(base + "/login")
        assert "frame-ancestors 'none'" in framed.headers["content-security-policy"]
    with Store.open(store_path, read_only=True) as store:
        assert reviews.latest(store, "P001", TRIAL) == {}
