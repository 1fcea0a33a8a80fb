"""The views and error handlers that replace label-studio-ml 1.0.9's stock ones: every answer is JSON.

The stock views and error handlers answer a traceback, local paths or HTML; these answer JSON, and an
unexpected error answers 500 with no detail (the log has it). An interactive /predict (one that asks
for the text of drawn regions) skips the batches' run slots (web/limits.py) and takes its turn at the
OCR engine ahead of a batch's next page (core/urgency.py).
"""

import contextlib
import logging

from flask import current_app, g, jsonify, request
from label_studio_ml.api import _manager
from label_studio_tools.core.utils.exceptions import LabelStudioXMLSyntaxErrorSentryIgnored
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ocr_backend import redaction
from ocr_backend.core import urgency
from ocr_backend.errors import BadRequest, LabelConfigError
from ocr_backend.labelstudio.label_config import parse_xml
from ocr_backend.service import cancel, interactive
from ocr_backend.web import request_log
from ocr_backend.web.guard import busy, request_settings, too_large
from ocr_backend.web.limits import PredictGate, client_gone_check

logger = logging.getLogger(__name__)


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
            return busy()
        g.interactive = True
    gone = client_gone_check(request.environ)
    if not gate.acquire(gone, urgent):
        logger.warning("/predict of %d tasks dropped: the client went away while it waited", len(tasks))
        return jsonify({"error": "client went away"}), 499
    try:
        # An annotator waits for a drawn region: its OCR goes ahead of a batch's next page.
        with cancel.stop_when(gone), urgency.urgent() if urgent else contextlib.nullcontext():
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
    # Echoed short: an answer a client may leave unread must stay small (the server holds it).
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


def http_error(exc: HTTPException):
    if isinstance(exc, RequestEntityTooLarge):  # a chunked body that outgrew the cap while read
        return too_large(request_settings().max_request_bytes)
    response = jsonify({"error": exc.description or exc.name})
    response.status_code = exc.code or 500
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value  # e.g. Allow on a 405
    return response


def unexpected_error(exc: Exception):
    logger.exception("%s %s failed", request.method, request_log.one_line(request.path))
    return jsonify({"error": "internal error (the server log has the details)"}), 500
