"""What this backend changes in label-studio-ml 1.0.9's stock Flask app (see _wsgi.py).

Every request first meets one guard, before any byte of its body is read (web/guard.py). The stock
DEBUG hooks, which read and dumped every body before anything else ran, are replaced by bounded ones
(web/request_log.py). Every answer is JSON: the stock views and error handlers that answer a
traceback, local paths or HTML are replaced (web/views.py), and an unexpected error answers 500 with
no detail (the log has it).
"""

from flask import Flask
from werkzeug.exceptions import HTTPException

from ocr_backend.web import guard, request_log, views


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
    guard.attach(app, settings)
    _drop_stock_hooks(app)
    app.before_request_funcs[None][:0] = [guard.guard]  # first: before anything reads the body
    app.before_request_funcs[None].append(request_log.log_request)
    app.after_request_funcs[None].append(request_log.log_response)
    app.teardown_request_funcs.setdefault(None, []).append(guard.release_admission)
    app.register_error_handler(HTTPException, views.http_error)
    app.register_error_handler(Exception, views.unexpected_error)

    app.view_functions["_predict"] = views.predict_view
    app.view_functions["_setup"] = views.setup_view
    app.view_functions["webhook"] = views.webhook_view
    app.view_functions["_train"] = views.train_view
    app.view_functions["_is_training"] = views.is_training_view
    app.view_functions["get_version"] = views.versions_view
    if not any(rule.rule == "/versions" and "GET" in (rule.methods or ()) for rule in app.url_map.iter_rules()):
        app.add_url_rule("/versions", "get_version", views.versions_view, methods=["GET"])
    return app
