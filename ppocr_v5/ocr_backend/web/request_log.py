"""DEBUG logging of requests and responses, in place of label-studio-ml 1.0.9's own hooks.

The stock hooks (label_studio_ml/api.py `log_request_info` / `log_response_info`) pass
`request.get_data()` and `response.get_data()` as logging arguments, which Python evaluates at
every level: every body was read into memory before authentication, whatever its size, and at
DEBUG dumped whole. Here nothing is read unless DEBUG is on, and then only after the request was
authenticated and admitted (the hook runs after web/guard.py); a line shows the size
and a bounded prefix, redacted as a whole before it is cut (a secret cut in two by the bound would
no longer match its pattern), with control characters escaped so a body cannot forge log lines.
"""

import logging

from flask import Response, request

from ocr_backend import redaction

logger = logging.getLogger(__name__)

BODY_PREFIX_CHARS = 500
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127)}


def _redact(text: str) -> str:
    installed = redaction.installed()
    return installed[0].redact(text) if installed else redaction.redact(text)


def one_line(text: str) -> str:
    """`text` with control characters (newlines included) escaped."""
    return text.translate(_ESCAPES)


def summary(data: bytes) -> str:
    """`<n> bytes` and a redacted, escaped prefix of at most BODY_PREFIX_CHARS characters."""
    if not data:
        return "0 bytes"
    text = _redact(data.decode("utf-8", "replace"))
    shown = text[:BODY_PREFIX_CHARS] + ("…" if len(text) > BODY_PREFIX_CHARS else "")
    return f"{len(data)} bytes: {one_line(shown)}"


def _headers(headers) -> str:
    # Each header redacted on its own: the header pattern masks up to the end of its line.
    return "; ".join(one_line(_redact(f"{name}: {value}")) for name, value in headers.items())


class OneLineArgs(logging.Filter):
    """Escapes control characters in a record's string and exception arguments.

    Request data reaches log lines as arguments (a task id, a reason quoting a value); a newline in
    one would start a forged line. Messages themselves are the code's and stay as written;
    tracebacks are formatted apart (exc_info) and keep their lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, (str, BaseException)) for a in args):
            record.args = tuple(one_line(str(a)) if isinstance(a, (str, BaseException)) else a for a in args)
        return True


def install_one_line_args() -> None:
    """Put OneLineArgs first on every root handler (before redaction, which formats the message)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OneLineArgs) for f in handler.filters):
            handler.filters.insert(0, OneLineArgs())


def log_request() -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    logger.debug("request %s %s headers: %s", request.method, one_line(request.path), _headers(request.headers))
    logger.debug("request body: %s", summary(request.get_data(cache=True)))


def log_response(response: Response) -> Response:
    if logger.isEnabledFor(logging.DEBUG):
        body = b"(streamed)" if response.is_streamed else response.get_data()
        logger.debug("response %s, %s", response.status, summary(body))
    return response


def install_log_redaction(settings) -> redaction.RedactionFilter:
    """Redact secrets from request dumps, urllib3's request lines and, for the configured keys,
    from every record that reaches the root handlers (see redaction.py); and keep request data
    passed to a log line from starting a new one (OneLineArgs)."""
    install_one_line_args()
    return redaction.install([settings.label_studio_api_key, settings.basic_auth_pass])
