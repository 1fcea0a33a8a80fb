"""Keep secrets out of log lines and error messages: the one place that knows what a secret looks like.

What can leak, and where it comes from:
  * query strings: presigned storage URLs carry their signatures there, and urllib3 logs every
    request line at DEBUG, query included;
  * authorization headers and cookies: label-studio-ml logs each request's headers at DEBUG
    (Basic auth of this backend, anything a proxy adds);
  * JSON secret fields: the access_token Label Studio sends to /setup, the PAT exchange's body;
  * the configured keys themselves (LABEL_STUDIO_API_KEY, BASIC_AUTH_PASS), wherever they appear.

Importing this module changes nothing: the entry points (_wsgi.py through
web/request_log.install_log_redaction, the `ppocr-v5` command) call `install(secrets)`, so a
library user or a test decides for itself what its logging does.
"""

import logging
import re
import urllib.parse
from typing import Iterable, List

from ocr_backend.core.urls import parse_url
from ocr_backend.errors import UrlError

# A '?' glued to preceding text starts a query string, in a full URL or a bare path alike.
_QUERY_IN_TEXT = re.compile(r"(\S)\?[^\s'\")]+")
_HEADER = re.compile(r"(?i)\b(authorization|cookie|x-api-key):[^\r\n]*")
_JSON_FIELD = re.compile(r'(?i)("(?:access_token|refresh|access|token|password|api_key)"\s*:\s*")[^"]*"')
# user:password@ in a URL's authority (an image host's Basic auth written into the task's URL).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"']*@")

# The loggers whose own records need redacting before any handler sees them: urllib3 and
# requests log request lines (query strings), label-studio-ml dumps request headers and bodies.
# Records of every other logger are redacted by the root handlers' copy of the filter.
LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "requests", "label_studio_ml.api")


def scrub_queries(text: str) -> str:
    """Remove query strings from any URL or path quoted inside `text` (an exception's, say)."""
    return _QUERY_IN_TEXT.sub(r"\1?…", text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without authorization headers, JSON secret fields, `secrets`, URL user information
    and query strings."""
    text = _JSON_FIELD.sub(r'\1***"', _HEADER.sub(r"\1: ***", text))
    text = _USERINFO.sub(r"\1***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return scrub_queries(text)


def safe_url(url: str, limit: int = 200) -> str:
    """The URL without credentials, query string or fragment, shortened: safe to log."""
    if url.startswith("data:"):
        return "data: URI"
    try:
        return parse_url(url).safe(limit)
    except UrlError:
        pass
    if "\\" in url.split("?", 1)[0] or any(ord(c) < 33 or c.isspace() for c in url):
        return "(malformed URL)"  # a host named here could be the wrong one
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(malformed URL)"
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}{port}" if parts.scheme else ""
    text = origin + parts.path + ("?…" if parts.query else "")
    return text if len(text) <= limit else text[:limit] + "…"


def mask(secret: str) -> str:
    """What a log line may show of a secret: only whether it is set."""
    return "***" if secret else "(none)"


class RedactionFilter(logging.Filter):
    """Rewrites each record's message through `redact`, with the secrets given to `install`."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets: List[str] = []
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self.secrets.extend(s for s in secrets if s and s not in self.secrets)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install(secrets: Iterable[str] = ()) -> RedactionFilter:
    """Redact the records of `LOGGERS` and of every handler the root logger has now.

    Call it once logging is configured (handlers added later are not covered). Calling it again
    adds `secrets` to the filter already installed instead of stacking a second one, so that
    every key configured by any caller stays redacted."""
    secrets = list(secrets)  # read once per filter below
    current = installed()
    for existing in current:
        existing.add_secrets(secrets)
    redactor = current[0] if current else RedactionFilter(secrets)
    for target in _targets():
        if not any(isinstance(f, RedactionFilter) for f in target.filters):
            target.addFilter(redactor)
    return redactor


def installed() -> List[RedactionFilter]:
    """The redaction filters on `LOGGERS` and the root handlers, each once (none until `install`)."""
    found: List[RedactionFilter] = []
    for target in _targets():
        for f in target.filters:
            if isinstance(f, RedactionFilter) and f not in found:
                found.append(f)
    return found


def _targets() -> List[logging.Filterer]:
    return [*(logging.getLogger(name) for name in LOGGERS), *logging.getLogger().handlers]
