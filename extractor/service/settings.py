"""What an operator may configure about the service; every default is the safe one."""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_ENV = "EXTRACTOR_SERVICE_TOKEN"
DEFAULT_MAX_TEXT_BYTES = 1_000_000
DEFAULT_MAX_NOTES = 500
DEFAULT_REQUEST_SECONDS = 120.0


@dataclass(frozen=True)
class ServiceSettings:
    """Limits, pipelines, bearer token and CORS origins of one service instance.

    ``pipelines``: loaded spaCy pipelines, each used by one worker thread at a time. The
    work is CPU-bound Python, so with the GIL a second pipeline mostly buys overlap of a
    long request with short ones, at ~the memory of one more pipeline; one is the default.
    ``request_seconds``: each request's deadline, waiting for a pipeline included (503
    when none came free in time, 408 when its own work ran over).
    """

    token: str | None = None
    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES
    max_notes: int = DEFAULT_MAX_NOTES
    pipelines: int = 1
    cors_origins: tuple[str, ...] = ()
    request_seconds: float = DEFAULT_REQUEST_SECONDS

    def __post_init__(self) -> None:
        if self.max_text_bytes < 1 or self.max_notes < 1 or self.pipelines < 1:
            raise ValueError("max_text_bytes, max_notes and pipelines must be at least 1")
        if not 0 < self.request_seconds <= 86_400:
            raise ValueError("request_seconds must be more than 0 and at most a day")
        if self.token is not None and not self.token.strip():
            raise ValueError("the bearer token is empty")

    @property
    def max_body_bytes(self) -> int:
        """The cap on a raw request body, checked before parsing: JSON escaping makes text
        at most 6 times its UTF-8 size, the rest is room for ids and dates."""
        return 8 * self.max_text_bytes
