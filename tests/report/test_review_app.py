"""The review app over HTTP: named reviewers only, known targets only, decisions stored at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from report_material import TEXTS
from starlette.testclient import TestClient

from extractor.report import reviews
from extractor.report.app import REVIEWER_COOKIE, create_app
from extractor.store import Store


@pytest.fixture
def client(store_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store_path), base_url="http://127.0.0.1") as opened:
        yield opened


FEVER_START = TEXTS["P001-N1"].index("fever")
FEVER = f"P001-N1:{FEVER_START}:{FEVER_START + 5}:fever"


def post_review(client: TestClient, **fields: str) -> object:
    form = {"trial": "demo", "target": "criterion", "target_id": "exc-tb", "decision": "correct", **fields}
    return client.post("/patients/P001/reviews", data=form, follow_redirects=False)


def test_pages_show_patients_criteria_and_forms(client: TestClient) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert 'href="/patients/P001?trial=demo"' in index.text
    page = client.get("/patients/P001?trial=demo")
    assert page.status_code == 200
    assert page.text.count('action="/patients/P001/reviews"') == 4 + 7  # 4 criteria, 7 facts
    assert "Enter your name" in page.text
    assert client.get("/patients/NOPE").status_code == 404


def test_a_decision_needs_a_named_reviewer(client: TestClient) -> None:
    assert post_review(client).status_code == 403


def test_reviewer_name_is_kept_and_decisions_saved(store_path: Path) -> None:
    with TestClient(create_app(store_path), base_url="http://127.0.0.1") as client:
        named = client.post("/reviewer", data={"reviewer": "Ada", "next": "//evil.example/"}, follow_redirects=False)
        assert (named.status_code, named.headers["location"]) == (303, "/")
        assert "samesite=strict" in named.headers["set-cookie"].lower()
        saved = post_review(client, decision="wrong", corrected="not_met", predicted="unknown")
        assert saved.status_code == 303
        assert saved.headers["location"].endswith("#patient-0-c-exc-tb")
        fact = post_review(client, target="fact", target_id=FEVER, decision="wrong", corrected="present")
        assert fact.status_code == 303
        page = client.get("/patients/P001?trial=demo")
        assert "Reviewed <strong>wrong</strong>, should be <em>not_met</em>" in page.text
        assert "1 of 4" in client.get("/").text
    with Store.open(store_path, read_only=True) as store:  # the app held the store while it ran
        decided = reviews.latest(store, "P001", "demo")
    assert decided["criterion", "exc-tb"].predicted == "met"  # the stored verdict, not the form's word
    assert decided["fact", FEVER].corrected == "present"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        pytest.param({"target_id": "no-such-criterion"}, 422, id="unknown-criterion"),
        pytest.param({"target": "fact", "target_id": "P001-N1:0:1:x"}, 422, id="unknown-fact"),
        pytest.param({"decision": "maybe"}, 422, id="bad-decision"),
        pytest.param({"decision": "wrong"}, 422, id="wrong-without-value"),
        pytest.param({"surprise": "field"}, 422, id="unknown-field"),
    ],
)
def test_bad_decisions_are_refused(client: TestClient, fields: dict[str, str], status: int) -> None:
    client.cookies.set(REVIEWER_COOKIE, "Ada")
    assert post_review(client, **fields).status_code == status
