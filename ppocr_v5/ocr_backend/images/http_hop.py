"""One hop of a download: a GET that follows no redirect, and its body read under the size cap.

fetch.py decides where each hop goes and what it may carry; this module sends it and reads what
comes back, turning every failure into an ImageFetchError that names the URL without its query
(the signature of a presigned URL) and without the credentials (redaction.py).
"""

import re

import requests

from ocr_backend.core.urls import Url
from ocr_backend.errors import ImageFetchError
from ocr_backend.redaction import scrub_queries

_CHUNK = 64 * 1024


def get(session: requests.Session, url: Url, headers: dict, timeout: float, hint: str = "") -> requests.Response:
    """The response of one GET of `url`, streamed and not redirected; `timeout` bounds the connect
    and each read; `hint` ends the message of a failure (what to check)."""
    try:
        return session.get(
            url.geturl(), headers=headers, stream=True, allow_redirects=False, timeout=(timeout, timeout)
        )
    except requests.Timeout:
        raise ImageFetchError(f"no answer from {url.safe()} within {timeout:g} s{hint}") from None
    except requests.RequestException as exc:
        raise ImageFetchError(f"cannot download {url.safe()}: {_reason(exc)}{hint}") from None
    except ValueError:
        # requests prepares the next hop of a redirect even when it does not follow it,
        # and its URL parser refuses some Locations (e.g. NFKC-ambiguous hosts).
        raise ImageFetchError(f"{url.safe()} redirected to a malformed URL; refused") from None


def read_body(resp: requests.Response, url: Url, max_bytes: int, timeout: float) -> bytes:
    """The whole body of a 200 answer, at most `max_bytes` of it (MAX_IMAGE_BYTES), not empty."""
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big(url.safe(), int(declared), max_bytes)
    body = bytearray()
    try:
        # iter_content undoes gzip/deflate, so the cap applies to what we actually hold.
        for chunk in resp.iter_content(_CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise too_big(url.safe(), len(body), max_bytes, at_least=True)
    except requests.Timeout:
        raise ImageFetchError(f"{url.safe()} stopped sending data for {timeout:g} s") from None
    except requests.RequestException as exc:
        raise ImageFetchError(f"download of {url.safe()} failed: {_reason(exc)}") from None
    if not body:
        raise ImageFetchError(f"{url.safe()} returned an empty body")
    return bytes(body)


def too_big(what: str, size: int, max_bytes: int, at_least: bool = False) -> ImageFetchError:
    """The refusal of an image's bytes over MAX_IMAGE_BYTES (downloaded here, or a data: URI's)."""
    more = "more than " if at_least else ""
    return ImageFetchError(f"{what} is {more}{size} bytes, above the {max_bytes} byte limit (MAX_IMAGE_BYTES)")


def _reason(exc: requests.RequestException) -> str:
    """The root cause of a requests error, without the URL (and its query) it quotes."""
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", None) or cause  # urllib3 MaxRetryError wraps the cause
    text = str(cause)
    # urllib3 prefixes the connection object's repr; the part after it is the useful bit.
    text = re.sub(r"^(?:<[^>]*>|\w*HTTPS?Connection\([^)]*\)):\s*", "", text)
    return scrub_queries(text)[:300] or type(exc).__name__
