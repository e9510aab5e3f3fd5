"""The review app over HTTP: only logged-in reviewers sign, only from the app's own pages and host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from report_material import TEXTS, TRIAL
from starlette.testclient import TestClient

from extractor.report import accounts, reviews
from extractor.report.app import create_app
from extractor.store import Store

BASE = "http://127.0.0.1"
PASSWORD = "correct horse battery"
FEVER_START = TEXTS["P001-N1"].index("fever")
FEVER = f"P001-N1:{FEVER_START}:{FEVER_START + 5}:fever"
PAGE = f"/patients/P001?trial={TRIAL}"


def add_reviewer(store_path: Path, name: str = "Ada") -> None:
    with Store.open(store_path) as store:
        accounts.add_user(store, name, PASSWORD)


def token(client: TestClient, path: str = "/login") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def log_in(client: TestClient, name: str = "Ada") -> str:
    """Log in through the form; returns the session's CSRF token."""
    form = {"reviewer": name, "password": PASSWORD, "csrf": token(client), "next": "/"}
    answer = client.post("/login", data=form, headers={"Origin": BASE}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return token(client, PAGE)


@pytest.fixture
def client(store_path: Path) -> Iterator[TestClient]:
    add_reviewer(store_path)
    with TestClient(create_app(store_path), base_url=BASE) as opened:
        yield opened


def post_review(client: TestClient, csrf: str, origin: str | None = BASE, **fields: str) -> object:
    form = {"trial": TRIAL, "target": "criterion", "target_id": "exc-tuberculosis", "decision": "correct"}
    headers = {"Origin": origin} if origin else {}
    return client.post(
        "/patients/P001/reviews", data={**form, "csrf": csrf, **fields}, headers=headers, follow_redirects=False
    )


def test_pages_need_a_login(client: TestClient) -> None:
    answer = client.get(PAGE, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    log_in(client)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert page.text.count('action="/patients/P001/reviews"') == 4 + 10 + 1  # criteria, facts, sign-off
    assert client.get("/patients/NOPE").status_code == 404


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    form = {"reviewer": "Ada", "password": "not the password", "csrf": token(client)}
    answer = client.post("/login", data=form, headers={"Origin": BASE})
    assert answer.status_code == 401
    assert client.get(PAGE, follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("origin", "csrf", "why"),
    [
        pytest.param("http://127.0.0.1:9999", "good", "another port is another origin", id="other-origin"),
        pytest.param(None, "good", "no origin at all", id="no-origin"),
        pytest.param(BASE, "forged", "a token not of this session", id="bad-token"),
        pytest.param(BASE, "\u00e9t\u00e9", "a token that is not even ASCII", id="non-ascii-token"),
    ],
)
def test_posts_from_elsewhere_are_refused(client: TestClient, origin: str | None, csrf: str, why: str) -> None:
    good = log_in(client)
    answer = post_review(client, {"good": good, "forged": "x" * 43}.get(csrf, csrf), origin=origin)
    assert answer.status_code == 403, why
    with Store.open(client.app.state.store_path, read_only=True) as store:
        assert reviews.latest(store, "P001", TRIAL) == {}


def test_a_login_from_another_origin_is_refused(client: TestClient) -> None:
    form = {"reviewer": "Ada", "password": PASSWORD, "csrf": token(client)}
    answer = client.post("/login", data=form, headers={"Origin": "http://127.0.0.1:9999"})
    assert answer.status_code == 403


def test_a_forged_host_is_refused(client: TestClient) -> None:
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400


def test_pages_forbid_framing_caching_and_inline_scripts(client: TestClient) -> None:
    form = {"reviewer": "Ada", "password": PASSWORD, "csrf": token(client)}
    cookie = client.post("/login", data=form, headers={"Origin": BASE}, follow_redirects=False).headers["set-cookie"]
    assert {"httponly", "samesite=strict"} <= {part.strip() for part in cookie.lower().split(";")}
    page = client.get(PAGE)
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "'sha256-" in script_src
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"


def test_decisions_are_saved_with_the_logged_in_name_and_a_time_zone(client: TestClient) -> None:
    csrf = log_in(client)
    saved = post_review(client, csrf, decision="wrong", corrected="not_met", predicted="unknown", reviewer="Mallory")
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("#p-P001--blinatumomab-sle-c-exc-tuberculosis")
    fact = post_review(client, csrf, target="fact", target_id=FEVER, decision="wrong", corrected="present")
    assert fact.status_code == 303
    page = client.get(PAGE)
    assert "Reviewed <strong>wrong</strong>, should be <em>not_met</em>" in page.text
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+\+00:00">[\d: -]+UTC</time>', page.text)
    assert "1 of 4" in client.get("/").text
    with Store.open(client.app.state.store_path, read_only=True) as store:  # while the app runs
        decided = reviews.latest(store, "P001", TRIAL)
    assert decided["criterion", "exc-tuberculosis"].predicted == "met"  # the stored verdict, not the form's word
    assert decided["criterion", "exc-tuberculosis"].reviewer == "Ada"  # the session's name, never the form's
    assert decided["criterion", "exc-tuberculosis"].reviewed_at.utcoffset().total_seconds() == 0
    assert decided["fact", FEVER].corrected == "present"


def test_a_correction_recomputes_the_overall_that_is_signed(client: TestClient) -> None:
    csrf = log_in(client)
    json_accept = {"Accept": "application/json", "Origin": BASE}
    form = {"trial": TRIAL, "target": "criterion", "target_id": "exc-tuberculosis", "decision": "wrong"}
    answer = client.post(
        "/patients/P001/reviews", data={**form, "corrected": "not_met", "csrf": csrf}, headers=json_accept
    )
    assert answer.status_code == 200
    assert answer.json()["recomputed"] == "needs_review"  # TB corrected away; the seizure is still to check
    assert "should be <em>not_met</em>" in answer.json()["decision_html"]
    signoff = {"trial": TRIAL, "target": "overall", "target_id": "overall", "decision": "correct", "csrf": csrf}
    assert client.post("/patients/P001/reviews", data=signoff, headers=json_accept).status_code == 200
    with Store.open(client.app.state.store_path, read_only=True) as store:
        signed = reviews.latest(store, "P001", TRIAL)["overall", "overall"]
    assert (signed.predicted, signed.decision.value, signed.gold_status) == ("needs_review", "correct", "needs_review")
    assert "signed" in client.get("/").text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"target_id": "no-such-criterion"}, "no such criterion or fact", id="unknown-criterion"),
        pytest.param({"target": "fact", "target_id": "P001-N1:0:1:x"}, "no such criterion", id="unknown-fact"),
        pytest.param({"decision": "maybe"}, "choose correct or wrong", id="bad-decision"),
        pytest.param({"decision": "wrong"}, "needs the right value or a comment", id="wrong-without-value"),
        pytest.param({"surprise": "field"}, "unknown field surprise", id="unknown-field"),
    ],
)
def test_bad_decisions_are_refused_with_a_message_by_the_form(
    client: TestClient, fields: dict[str, str], message: str
) -> None:
    csrf = log_in(client)
    answer = post_review(client, csrf, **fields)
    assert answer.status_code == 422
    assert re.search(rf'class="form-error" role="alert">not saved: [^<]*{message}', answer.text)
    as_json = client.post(
        "/patients/P001/reviews",
        data={
            "trial": TRIAL,
            "target": "criterion",
            "target_id": "exc-tuberculosis",
            "decision": "correct",
            "csrf": csrf,
            **fields,
        },
        headers={"Accept": "application/json", "Origin": BASE},
    )
    assert as_json.status_code == 422
    assert message in as_json.json()["error"]


def test_without_accounts_pages_are_read_only(store_path: Path) -> None:
    with TestClient(create_app(store_path), base_url=BASE) as client:
        page = client.get(PAGE)
        assert page.status_code == 200
        assert "No reviewer accounts yet" in page.text
        answer = post_review(client, token(client, PAGE))
        assert answer.status_code == 403


@pytest.mark.parametrize(
    ("following", "expected"),
    [("/patients/P001", "/patients/P001"), ("//evil.example/", "/"), ("/\\evil.example", "/"), ("https://x/", "/")],
)
def test_login_goes_back_only_within_the_app(client: TestClient, following: str, expected: str) -> None:
    form = {"reviewer": "Ada", "password": PASSWORD, "csrf": token(client), "next": following}
    answer = client.post("/login", data=form, headers={"Origin": BASE}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, expected)


def test_a_store_held_elsewhere_gives_busy_not_an_error(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractor.report import app as review_app

    log_in(client)
    monkeypatch.setattr(review_app, "OPEN_ATTEMPTS", 2)
    with Store.open(client.app.state.store_path):  # as `extractor batch` would hold it
        answer = client.get(PAGE)
    assert (answer.status_code, answer.text) == (503, "the store is busy; try again")
    assert client.get(PAGE).status_code == 200
