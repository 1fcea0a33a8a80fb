"""The first before_request hook: who may send a request, how big it may be, and whether /predict
gets in now.

Every request meets `guard()` before any byte of its body is read: Basic auth (when configured), the
body size cap (MAX_REQUEST_BYTES: 413) and, for /predict, admission through the worker's PredictGate
(web/limits.py: 503 with Retry-After). The admission ends with the request (`release_admission`).
"""

import logging

from flask import Flask, current_app, g, jsonify, request

from ocr_backend.web import basic_auth
from ocr_backend.web.limits import RETRY_AFTER_S, PredictGate

logger = logging.getLogger(__name__)

_GATE = "ppocr_v5.predict_gate"
_SETTINGS = "ppocr_v5.settings"


def attach(app: Flask, settings) -> None:
    """Give the app the settings and the worker's PredictGate the guard reads on every request."""
    app.extensions[_SETTINGS] = settings
    app.extensions[_GATE] = PredictGate(settings.predict_concurrency, settings.predict_queue)
    # Werkzeug enforces it while a chunked body (no Content-Length) is read; guard() checks the header.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes


def request_settings():
    return current_app.extensions[_SETTINGS]


def request_gate() -> PredictGate:
    return current_app.extensions[_GATE]


def too_large(limit: int):
    return jsonify({"error": f"request body is larger than MAX_REQUEST_BYTES={limit} bytes"}), 413


def busy():
    return (
        jsonify({"error": "busy: too many /predict requests at once; retry later"}),
        503,
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def guard():
    """The first before_request hook: nothing above reads the body before it has passed."""
    settings = g.settings = request_settings()
    if basic_auth.required(request.path, settings) and not basic_auth.credentials_ok(
        request.headers.get("Authorization"), settings
    ):
        return jsonify({"error": "authentication required"}), 401, dict([basic_auth.CHALLENGE])
    if (request.content_length or 0) > settings.max_request_bytes:
        return too_large(settings.max_request_bytes)
    if request.endpoint == "_predict":
        gate = g.gate = request_gate()
        if not gate.admit():
            logger.warning(
                "/predict refused: %d requests already held (503, Retry-After %d s)", gate.admitted, RETRY_AFTER_S
            )
            return busy()
        g.admitted = True
    return None


def release_admission(_exc=None) -> None:
    """The request's admission ends with it: its answer is written by the server's event loop, not a
    thread, within REQUEST_BODY_TIMEOUT (web/request_guard.py)."""
    if g.pop("admitted", False):
        g.gate.leave(g.pop("interactive", False))
