"""What this backend adds to label-studio-ml 1.0.9's stock Flask app (see _wsgi.py).

Every request first meets one guard, before any byte of its body is read: Basic auth (when
configured), the body size cap (MAX_REQUEST_BYTES: 413) and, for /predict, admission through the
worker's PredictGate (web/limits.py: 503 with Retry-After; an interactive request, one that asks
for the text of drawn regions, skips the batches' run slots and their turn at the OCR engine).
The stock DEBUG hooks, which read and dumped every body before anything else ran, are replaced by
bounded ones (web/request_log.py).
Every answer is JSON: the stock views and error handlers that answer a traceback, local paths or
HTML are replaced, and an unexpected error answers 500 with no detail (the log has it).
"""

import base64
import binascii
import contextlib
import hmac
import logging

from flask import Flask, current_app, g, jsonify, request
from label_studio_ml.api import _manager
from label_studio_tools.core.utils.exceptions import LabelStudioXMLSyntaxErrorSentryIgnored
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ocr_backend import redaction
from ocr_backend.errors import BadRequest, LabelConfigError
from ocr_backend.labelstudio.label_config import parse_xml
from ocr_backend.ocr import engine_lock
from ocr_backend.service import cancel, interactive
from ocr_backend.web import request_log
from ocr_backend.web.limits import RETRY_AFTER_S, PredictGate, client_gone_check

logger = logging.getLogger(__name__)

OPEN_PATHS = ("/", "/health")  # Label Studio's health check sends no credentials
_GATE = "ppocr_v5.predict_gate"
_SETTINGS = "ppocr_v5.settings"


def _read_body() -> None:
    """Read the body into the request's cache, refusing one that reaches MAX_CONTENT_LENGTH.

    A chunked body (no Content-Length for guard() to check) is cut at the cap by Werkzeug without
    an error; a body that fills the cap exactly is therefore taken as one that went beyond."""
    data = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()


def _json_body() -> dict:
    _read_body()
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # "[[[[...": nesting deeper than the JSON parser recurses
        raise BadRequest("request body is nested too deeply") from None
    if data is None:
        raise BadRequest("request body must be JSON (Content-Type: application/json, UTF-8)")
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def _check_config(config) -> None:
    """Refuse a label config that is not text or not safe XML before label-studio-ml parses it (lxml,
    in LabelStudioMLBase.__init__): DTDs and entities never reach a parser."""
    if config is None or config == "":
        return
    if not isinstance(config, str):
        raise LabelConfigError("the label config must be a string of XML")
    parse_xml(config)


def _fetch_model(*args, **kwargs):
    """label-studio-ml's model for the request; its own config parse failing is the config's fault."""
    try:
        return _manager.fetch(*args, **kwargs)
    except (LabelStudioXMLSyntaxErrorSentryIgnored, ValueError) as exc:
        raise LabelConfigError(f"the label config cannot be parsed: {redaction.redact(str(exc))[:300]}") from None


def _current_model(data: dict):
    """The model instance; created on first use exactly as /setup would, if LS skipped /setup."""
    wrapper = _manager._current_model
    if not wrapper or not hasattr(wrapper, "model"):
        wrapper = _fetch_model(data.get("project"), data.get("label_config"))
    return wrapper.model


def _config_refused(where: str, exc: LabelConfigError):
    logger.warning("%s refused: %s", where, request_log.one_line(str(exc)))
    return jsonify({"error": f"label config: {exc}"}), 422


def predict_view():
    try:
        data = _json_body()
        tasks = data.get("tasks")
        if not isinstance(tasks, list):
            raise BadRequest("'tasks' must be a list of task objects")
        params = data.get("params")
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise BadRequest("'params' must be an object")
        context = params.get("context")
        if context is not None and not isinstance(context, dict):
            raise BadRequest("'params.context' must be an object")
        _check_config(data.get("label_config"))
        model = _current_model(data)
    except BadRequest as exc:
        return jsonify({"error": str(exc)}), 400
    except LabelConfigError as exc:
        return _config_refused("/predict", exc)
    gate: PredictGate = g.gate
    urgent = interactive.requested(context)
    if urgent:
        if not gate.mark_interactive():
            logger.warning("interactive /predict refused: %d interactive requests already held (503)", gate.interactive)
            return _busy()
        g.interactive = True
    gone = client_gone_check(request.environ)
    if not gate.acquire(gone, urgent):
        logger.warning("/predict of %d tasks dropped: the client went away while it waited", len(tasks))
        return jsonify({"error": "client went away"}), 499
    try:
        # An annotator waits for a drawn region: its OCR goes ahead of a batch's next page.
        with cancel.stop_when(gone), engine_lock.urgent() if urgent else contextlib.nullcontext():
            results = model.predict(tasks, label_config=data.get("label_config"), context=context)
    except LabelConfigError as exc:
        return _config_refused("/predict", exc)
    finally:
        gate.release(urgent)
    return jsonify({"results": results, "model_version": model.model_version})


def setup_view():
    try:
        data = _json_body()
        _check_config(data.get("schema"))
        wrapper = _fetch_model(
            data.get("project"),
            data.get("schema"),
            data.get("force_reload", False),
            hostname=data.get("hostname", ""),
            access_token=data.get("access_token", ""),
        )
    except BadRequest as exc:
        return jsonify({"error": str(exc)}), 400
    except LabelConfigError as exc:
        return _config_refused("/setup", exc)
    # Cheap: the instance reuses the process-wide OCR engine; no weights are loaded here.
    wrapper.model_version = wrapper.model.model_version
    return jsonify({"model_version": wrapper.model_version})


def webhook_view():
    """Acknowledge Label Studio's webhooks without acting on them.

    This backend does not train. The stock 1.0.9 view would start a training job for every event
    (TASKS_CREATED on each import included), forking the worker and crashing on model_dir=None.
    """
    _read_body()
    data = request.get_json(silent=True)
    action = data.get("action") if isinstance(data, dict) else None
    if not action:
        return jsonify({"error": "webhook body must be a JSON object with an 'action'"}), 400
    # Echoed short: an answer a client may leave unread must stay small (hold_admission_while_answering).
    return jsonify({"status": "ignored", "action": str(action)[:100]}), 200


def versions_view():
    """Label Studio 1.23 asks `GET /versions` (no body) for the model versions it may choose from:
    one, the model_version every prediction carries. (The stock POST view listed training job
    folders and answered a traceback without them.)"""
    model = _current_model({})
    return jsonify({"versions": [model.model_version], "model_version": model.model_version})


def train_view():
    # A 2xx: an error answer would put the backend into Label Studio's ERROR state.
    return jsonify(
        {"status": "ignored", "detail": "this backend does not train: it serves the PP-OCR weights as they are"}
    )


def is_training_view():
    return jsonify({"is_training": False})


def _auth_ok(settings) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
    except (ValueError, binascii.Error):  # non-ASCII or not base64
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str (that was a 500 for a non-ASCII header).
    user_ok = hmac.compare_digest(user, settings.basic_auth_user.encode("utf-8"))
    password_ok = hmac.compare_digest(password, settings.basic_auth_pass.encode("utf-8"))
    return bool(sep) and user_ok and password_ok


def _too_large(limit: int):
    return jsonify({"error": f"request body is larger than MAX_REQUEST_BYTES={limit} bytes"}), 413


def guard():
    """The first before_request hook: nothing above reads the body before it has passed."""
    settings = g.settings = request_settings()
    if settings.basic_auth_user and request.path not in OPEN_PATHS and not _auth_ok(settings):
        return jsonify({"error": "authentication required"}), 401, {"WWW-Authenticate": 'Basic realm="ppocr_v5"'}
    if (request.content_length or 0) > settings.max_request_bytes:
        return _too_large(settings.max_request_bytes)
    if request.endpoint == "_predict":
        gate = g.gate = request_gate()
        if not gate.admit():
            logger.warning(
                "/predict refused: %d requests already held (503, Retry-After %d s)", gate.admitted, RETRY_AFTER_S
            )
            return _busy()
        g.admitted = True
    return None


def _busy():
    return (
        jsonify({"error": "busy: too many /predict requests at once; retry later"}),
        503,
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def request_settings():
    return current_app.extensions[_SETTINGS]


def request_gate() -> PredictGate:
    return current_app.extensions[_GATE]


def hold_admission_while_answering(response):
    """A /predict answer is written after the request's teardown, and a client that does not read it
    holds the thread meanwhile (for up to REQUEST_BODY_TIMEOUT, web/slow_clients.py): the request
    stays admitted until its answer is written, so such clients hold at most what the gate admits.
    Under gunicorn only, which always closes an answer once written (a test client need not)."""
    if "gunicorn.socket" in request.environ and g.pop("admitted", False):
        gate, urgent = g.gate, g.pop("interactive", False)
        response.call_on_close(lambda: gate.leave(urgent))
    return response


def release_admission(_exc=None) -> None:
    """Where no answer took over the admission (hold_admission_while_answering)."""
    if g.pop("admitted", False):
        g.gate.leave(g.pop("interactive", False))


def http_error(exc: HTTPException):
    if isinstance(exc, RequestEntityTooLarge):  # a chunked body that outgrew the cap while read
        return _too_large(request_settings().max_request_bytes)
    response = jsonify({"error": exc.description or exc.name})
    response.status_code = exc.code or 500
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value  # e.g. Allow on a 405
    return response


def unexpected_error(exc: Exception):
    logger.exception("%s %s failed", request.method, request_log.one_line(request.path))
    return jsonify({"error": "internal error (the server log has the details)"}), 500


def install_log_redaction(settings) -> redaction.RedactionFilter:
    """Redact secrets from request dumps, urllib3's request lines and, for the configured keys,
    from every record that reaches the root handlers (see redaction.py); and keep request data
    passed to a log line from starting a new one (request_log.OneLineArgs)."""
    request_log.install_one_line_args()
    return redaction.install([settings.label_studio_api_key, settings.basic_auth_pass])


def _drop_stock_hooks(app: Flask) -> None:
    """Remove label-studio-ml's body-reading DEBUG hooks and its error handlers (they answer text
    with str(error): a FileNotFoundError's local path, say)."""
    app.before_request_funcs.setdefault(None, [])[:] = [
        f for f in app.before_request_funcs[None] if f.__module__ != "label_studio_ml.api"
    ]
    app.after_request_funcs.setdefault(None, [])[:] = [
        f for f in app.after_request_funcs[None] if f.__module__ != "label_studio_ml.api"
    ]
    app.error_handler_spec.setdefault(None, {}).clear()


def extend_app(app: Flask, settings) -> Flask:
    app.extensions[_SETTINGS] = settings
    app.extensions[_GATE] = PredictGate(settings.predict_concurrency, settings.predict_queue)
    # Werkzeug enforces it while a chunked body (no Content-Length) is read; guard() checks the header.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    _drop_stock_hooks(app)
    app.before_request_funcs[None][:0] = [guard]  # first: before anything reads the body
    app.before_request_funcs[None].append(request_log.log_request)
    app.after_request_funcs[None].append(request_log.log_response)
    app.after_request_funcs[None].append(hold_admission_while_answering)
    app.teardown_request_funcs.setdefault(None, []).append(release_admission)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)

    app.view_functions["_predict"] = predict_view
    app.view_functions["_setup"] = setup_view
    app.view_functions["webhook"] = webhook_view
    app.view_functions["_train"] = train_view
    app.view_functions["_is_training"] = is_training_view
    app.view_functions["get_version"] = versions_view
    if not any(rule.rule == "/versions" and "GET" in (rule.methods or ()) for rule in app.url_map.iter_rules()):
        app.add_url_rule("/versions", "get_version", versions_view, methods=["GET"])
    return app
