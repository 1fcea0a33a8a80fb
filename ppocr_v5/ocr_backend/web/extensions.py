"""What this backend adds to label-studio-ml 1.0.9's stock Flask app (see _wsgi.py)."""

import base64
import hmac
import logging

from flask import jsonify, request
from label_studio_ml.api import _manager

from ocr_backend import redaction
from ocr_backend.errors import BadRequest, LabelConfigError

logger = logging.getLogger(__name__)


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("request body must be JSON (Content-Type: application/json)")
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def _current_model(data: dict):
    """The model instance; created on first use exactly as /setup would, if LS skipped /setup."""
    wrapper = _manager._current_model
    if not wrapper or not hasattr(wrapper, "model"):
        wrapper = _manager.fetch(data.get("project"), data.get("label_config"))
    return wrapper.model


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
        model = _current_model(data)
        results = model.predict(tasks, label_config=data.get("label_config"), context=context)
    except BadRequest as exc:
        return jsonify({"error": str(exc)}), 400
    except LabelConfigError as exc:
        logger.warning("/predict refused: %s", exc)
        return jsonify({"error": f"label config: {exc}"}), 422
    return jsonify({"results": results, "model_version": model.model_version})


def setup_view():
    try:
        data = _json_body()
    except BadRequest as exc:
        return jsonify({"error": str(exc)}), 400
    wrapper = _manager.fetch(
        data.get("project"),
        data.get("schema"),
        data.get("force_reload", False),
        hostname=data.get("hostname", ""),
        access_token=data.get("access_token", ""),
    )
    # Cheap: the instance reuses the process-wide OCR engine; no weights are loaded here.
    wrapper.model_version = wrapper.model.model_version
    return jsonify({"model_version": wrapper.model_version})


def webhook_view():
    """Acknowledge Label Studio's webhooks without acting on them.

    This backend does not train. The stock 1.0.9 view would start a training job for every event
    (TASKS_CREATED on each import included), forking the worker and crashing on model_dir=None.
    """
    data = request.get_json(silent=True)
    action = data.get("action") if isinstance(data, dict) else None
    if not action:
        return jsonify({"error": "webhook body must be a JSON object with an 'action'"}), 400
    return jsonify({"status": "ignored", "action": action}), 200


def _auth_ok(settings) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, settings.basic_auth_user) and hmac.compare_digest(
        password, settings.basic_auth_pass
    )


def install_log_redaction(settings) -> redaction.RedactionFilter:
    """Redact secrets from label-studio-ml's request dumps, urllib3's request lines and, for the
    configured keys, from every record that reaches the root handlers (see redaction.py)."""
    return redaction.install([settings.label_studio_api_key, settings.basic_auth_pass])


def extend_app(app, settings):
    app.view_functions["_predict"] = predict_view
    app.view_functions["_setup"] = setup_view
    app.view_functions["webhook"] = webhook_view

    if settings.basic_auth_user:

        @app.before_request
        def require_basic_auth():
            if request.path in ("/", "/health"):
                return None
            if not _auth_ok(settings):
                return (
                    jsonify({"error": "authentication required"}),
                    401,
                    {"WWW-Authenticate": 'Basic realm="ppocr_v5"'},
                )
            return None

    return app
