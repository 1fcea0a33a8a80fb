"""Basic auth (BASIC_AUTH_USER / BASIC_AUTH_PASS): the one check of a request's credentials.

Used twice on purpose: by the server, on the request head before any byte of the body is read
or `100 Continue` sent (so unauthenticated clients cannot make it hold their bodies), and by the
app's guard (web/guard.py), which stays the check of record for any server.
"""

import base64
import binascii
import hmac
from typing import Optional

OPEN_PATHS = ("/", "/health")  # Label Studio's health check sends no credentials
CHALLENGE = ("WWW-Authenticate", 'Basic realm="ppocr_v5"')


def required(path: str, settings) -> bool:
    """Whether a request for `path` must carry credentials. `path` as the app sees it (percent-
    decoded); a server that checks the raw path only asks for credentials more often, never less."""
    return bool(settings.basic_auth_user) and path not in OPEN_PATHS


def credentials_ok(header: Optional[str], settings) -> bool:
    """Whether an Authorization header value carries the configured user and password."""
    scheme, _, encoded = (header or "").partition(" ")
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
