"""The screening service: facts and verdicts over HTTP for chart-review tools.

``create_app(settings)`` builds the FastAPI application; ``extractor serve`` runs it on
uvicorn (loopback by default). Routes: POST /v1/extract, POST /v1/screen,
GET /v1/trials, GET /v1/trials/{id}, GET /healthz, GET /openapi.json.
"""

from extractor.service.app import create_app
from extractor.service.settings import TOKEN_ENV, ServiceSettings

__all__ = ["TOKEN_ENV", "ServiceSettings", "create_app"]
