"""Label Studio credentials: turn LABEL_STUDIO_API_KEY into an Authorization header.

Label Studio accepts two kinds of key:
  * a legacy API token (opaque string), sent as `Authorization: Token <key>`;
  * a Personal Access Token (PAT), which is a JWT *refresh* token. It cannot be sent as is: it is
    exchanged at `/api/token/refresh/` for a short-lived access token (5 minutes), sent as
    `Authorization: Bearer <access>`. We cache that token and renew it shortly before it expires.
A JWT that is already an access token is sent as Bearer unchanged.

One instance is shared by every request thread, so the cache is guarded by a lock; the lock is
held during the exchange so that concurrent threads wait for one exchange instead of racing.
"""

import base64
import binascii
import json
import logging
import threading
import time
from typing import Callable, Optional

import requests

from ocr_backend.errors import LabelStudioAuthError
from ocr_backend.redaction import mask

log = logging.getLogger(__name__)

REFRESH_PATH = "/api/token/refresh/"
# Renew this long before `exp`, so a token never expires between our check and LS's.
RENEW_MARGIN_S = 30.0
# SimpleJWT's default access lifetime in Label Studio; used when a token carries no `exp`.
DEFAULT_ACCESS_LIFETIME_S = 300.0

PAT_HELP = (
    "create a new Personal Access Token in Label Studio (Account & Settings > "
    "Personal Access Token) and set it as LABEL_STUDIO_API_KEY"
)


def jwt_payload(token: str) -> Optional[dict]:
    """The claims of a JWT, decoded WITHOUT verifying the signature; None if `token` is no JWT.

    Verification is Label Studio's job: we only need `token_type` and `exp` to decide how to send
    the key and when to renew it.
    """
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        return None
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(segment.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


class LabelStudioAuth:
    """Authorization header for requests to one Label Studio instance."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        session: Optional[requests.Session] = None,
        timeout: float = 20.0,
        clock: Callable[[], float] = time.time,
    ):
        self.base_url = (base_url or "").rstrip("/")
        self._key = (api_key or "").strip()
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._access = ""
        self._access_exp = 0.0
        claims = jwt_payload(self._key) if self._key else None
        self._refresh_exp = None
        if not self._key:
            self.kind = "none"
        elif claims is None:
            self.kind = "legacy"
        elif claims.get("token_type") == "refresh":
            self.kind = "pat"
            self._refresh_exp = _number(claims.get("exp"))
        else:
            self.kind = "access"

    def __repr__(self):
        return f"LabelStudioAuth({self.base_url!r}, kind={self.kind}, key={mask(self._key)})"

    def headers(self) -> dict:
        """The headers to add to a request to Label Studio (empty when there is no key)."""
        if self.kind == "none":
            return {}
        if self.kind == "legacy":
            return {"Authorization": f"Token {self._key}"}
        if self.kind == "access":
            return {"Authorization": f"Bearer {self._key}"}
        return {"Authorization": f"Bearer {self._access_token()}"}

    @property
    def renewable(self) -> bool:
        """Whether a 401 may be cured by exchanging the key again: only a PAT's access token can
        have been revoked (or judged expired by a clock ahead of ours) while the key stays good."""
        return self.kind == "pat"

    def refusal_advice(self) -> str:
        """What to fix when Label Studio answers 401 or 403 to a request made with these headers."""
        if self.kind == "none":
            return "set LABEL_STUDIO_API_KEY to an API token of a user in this project"
        if self.kind == "legacy":
            return (
                "check LABEL_STUDIO_URL points to the Label Studio that sent the task and that "
                "the token belongs to a user with access to it; legacy tokens may be disabled "
                "in the organisation (use a Personal Access Token instead)"
            )
        return (
            "check LABEL_STUDIO_URL points to the Label Studio that sent the task; the Personal "
            "Access Token may be expired or revoked, or its user lacks access to this project"
        )

    def invalidate(self) -> None:
        """Forget the cached access token (Label Studio answered 401 to it)."""
        with self._lock:
            self._access, self._access_exp = "", 0.0

    def _access_token(self) -> str:
        with self._lock:
            if not self._access or self._clock() >= self._access_exp - RENEW_MARGIN_S:
                self._access, self._access_exp = self._exchange()
            return self._access

    def _exchange(self):
        """POST the PAT to /api/token/refresh/; returns (access token, its expiry as epoch s)."""
        if not self.base_url:
            raise LabelStudioAuthError(
                "LABEL_STUDIO_API_KEY is a Personal Access Token, which must be exchanged with "
                "Label Studio, but its URL is unknown: set LABEL_STUDIO_URL."
            )
        now = self._clock()
        if self._refresh_exp is not None and now >= self._refresh_exp:
            expired = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self._refresh_exp))
            raise LabelStudioAuthError(
                f"LABEL_STUDIO_API_KEY is a Personal Access Token that expired at {expired}: {PAT_HELP}."
            )
        url = self.base_url + REFRESH_PATH
        try:
            # No redirects: a POST redirected (e.g. http -> https) turns into a GET and fails
            # obscurely; better to say LABEL_STUDIO_URL is wrong.
            resp = self._session.post(url, json={"refresh": self._key}, timeout=self._timeout, allow_redirects=False)
        except requests.Timeout:
            raise LabelStudioAuthError(
                f"Label Studio at {self.base_url} did not answer the token exchange within {self._timeout:g} s."
            ) from None
        except requests.RequestException as exc:
            raise LabelStudioAuthError(
                f"cannot reach Label Studio at {self.base_url} to exchange the Personal Access "
                f"Token ({type(exc).__name__}); check LABEL_STUDIO_URL."
            ) from None
        with resp:
            if resp.status_code == 401:
                raise LabelStudioAuthError(
                    f"Label Studio at {self.base_url} rejected LABEL_STUDIO_API_KEY (HTTP 401 on "
                    f"{REFRESH_PATH}): the Personal Access Token is invalid, expired or revoked; "
                    f"{PAT_HELP}."
                )
            if resp.is_redirect:
                raise LabelStudioAuthError(
                    f"Label Studio redirected the token exchange (HTTP {resp.status_code}); "
                    f"LABEL_STUDIO_URL={self.base_url} is probably wrong (http vs https, path?)."
                )
            if resp.status_code != 200:
                raise LabelStudioAuthError(
                    f"the Personal Access Token exchange at {self.base_url}{REFRESH_PATH} failed "
                    f"with HTTP {resp.status_code}; check LABEL_STUDIO_URL (Label Studio >= 1.14 "
                    f"is needed for Personal Access Tokens)."
                )
            try:
                access = resp.json().get("access")
            except (ValueError, AttributeError):
                access = None
        if not isinstance(access, str) or not access:
            raise LabelStudioAuthError(
                f"the Personal Access Token exchange at {self.base_url}{REFRESH_PATH} returned no "
                f"access token; check LABEL_STUDIO_URL points to Label Studio."
            )
        exp = _number((jwt_payload(access) or {}).get("exp"))
        if exp is None:
            exp = now + DEFAULT_ACCESS_LIFETIME_S
        log.debug("Exchanged the Personal Access Token for an access token valid %.0f s", exp - now)
        return access, exp


def _number(value) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
