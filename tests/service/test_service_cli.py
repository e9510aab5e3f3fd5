"""``extractor serve``: loopback by default, a warning when exposed without a token."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from extractor.cli import serve
from extractor.cli.app import app
from extractor.service import TOKEN_ENV

runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``uvicorn.run`` was called with (nothing is bound, no pipeline is loaded)."""
    calls: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.update(app=app, **options))
    monkeypatch.setattr(serve, "configure_logging", lambda level: calls.update(log_level=level))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return calls


def test_serve_binds_loopback_by_default(started: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert (started["host"], started["port"]) == ("127.0.0.1", 8000)
    settings = started["app"].state.settings
    assert settings.token is None and settings.cors_origins == ()
    assert settings.max_text_bytes == 1_000_000
    assert "warning" not in result.output


def test_serve_warns_when_exposed_without_a_token(started: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert result.exit_code == 0
    assert "without a bearer token" in result.output


def test_serve_reads_the_token_and_limits(started: dict[str, Any]) -> None:
    result = runner.invoke(
        app,
        ["serve", "--host", "0.0.0.0", "--max-notes", "5", "--cors-origin", "https://ehr.example.org"],
        env={TOKEN_ENV: "from-env"},
    )
    assert result.exit_code == 0, result.output
    settings = started["app"].state.settings
    assert settings.token == "from-env"
    assert settings.max_notes == 5
    assert settings.cors_origins == ("https://ehr.example.org",)
    assert "warning" not in result.output


def test_serve_rejects_a_zero_limit(started: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve", "--max-notes", "0"])
    assert result.exit_code == 2
    assert not started


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("10.1.2.3", False), ("::", False), ("ehr.example.org", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert serve.is_loopback(host) is loopback
