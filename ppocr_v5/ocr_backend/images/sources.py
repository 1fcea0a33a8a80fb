"""Where a task's image value points: a data: URI, a Label Studio path, a cloud URI or a web URL.

Pure: nothing here opens a socket. `classify` reads the value a task holds and refuses what this
backend cannot fetch; `LabelStudioFiles` knows the Label Studio the key belongs to and turns its
paths and cloud URIs (presigned by Label Studio) into the URL to download. Which paths are
Label Studio *file* paths is decided here too, since the key is sent for those only.
"""

import base64
import dataclasses
import enum
import logging
import re
import urllib.parse
from typing import Optional

from ocr_backend.core.urls import Url, parse_url
from ocr_backend.errors import ImageFetchError, UrlError
from ocr_backend.redaction import safe_url

log = logging.getLogger(__name__)

CLOUD_SCHEMES = ("s3", "gs", "azure-blob", "azure-spi")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# The paths under LABEL_STUDIO_URL that serve task files (uploads, local-files storage, cloud
# storage proxy, presign redirects). The key is sent for these only: a task value of `/api/...`
# must not turn the backend into an authenticated client of Label Studio's API.
_LS_FILE_PATH = re.compile(
    r"^/(?:data/upload/|data/local-files/?$|storage-data/"
    r"|(?:tasks|projects)/[^/]+/presign/?$)"
)


class SourceKind(enum.Enum):
    DATA_URI = "data: URI"
    LABEL_STUDIO_PATH = "Label Studio path"
    CLOUD_URI = "cloud storage URI"
    WEB_URL = "http(s) URL"


@dataclasses.dataclass(frozen=True)
class Source:
    kind: SourceKind
    value: str  # the task's value, stripped
    scheme: str = ""  # lower-case; '' for Label Studio paths


def scheme_of(text: str) -> str:
    """The URI scheme `text` starts with, lower-case; '' when it has none."""
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else ""


def classify(value: str) -> Source:
    """What kind of source a task's image value is; ImageFetchError for the ones refused."""
    if not value:
        raise ImageFetchError("the image URL is empty")
    if value[:5].lower() == "data:":
        return Source(SourceKind.DATA_URI, value, "data")
    if value.startswith("//"):
        raise ImageFetchError(
            f"protocol-relative URL {safe_url('http:' + value)} is not supported; use an absolute http(s) URL"
        )
    if value.startswith("/"):
        return Source(SourceKind.LABEL_STUDIO_PATH, value)
    scheme = scheme_of(value)
    if scheme in CLOUD_SCHEMES:
        return Source(SourceKind.CLOUD_URI, value, scheme)
    if scheme in ("http", "https"):
        return Source(SourceKind.WEB_URL, value, scheme)
    if not scheme:
        raise ImageFetchError(f"{safe_url(value)!r} is neither an absolute URL nor a Label Studio path (/data/...)")
    raise ImageFetchError(
        f"unsupported URL scheme {scheme!r} in {safe_url(value)}; use http(s), data:, a Label "
        f"Studio path or s3/gs/azure-blob storage"
    )


def label_studio_base(url: str) -> Optional[Url]:
    """LABEL_STUDIO_URL (or /setup's hostname) read strictly; None, with a warning, if unusable."""
    url = url.strip().rstrip("/")
    if not url:
        return None
    try:
        parsed = parse_url(url)
    except UrlError as exc:
        log.warning("Ignoring Label Studio URL %s: %s", safe_url(url), exc)
        return None
    if parsed.userinfo or parsed.query:
        log.warning("Ignoring Label Studio URL %s: it must not hold credentials or a query", parsed.safe())
        return None
    return parsed


class LabelStudioFiles:
    """The file-serving side of one Label Studio (or none, when its URL is unknown)."""

    def __init__(self, base: Optional[Url]):
        self._base = base
        self.url = base.geturl().rstrip("/") if base else ""
        # (scheme, host, port): the only destination that may receive the Label Studio key.
        self.origin: Optional[tuple] = base.origin if base else None

    def download_url(self, source: Source, task_id=None) -> Url:
        """The URL to fetch for any source but a data: URI (which holds its bytes itself)."""
        if source.kind is SourceKind.LABEL_STUDIO_PATH:
            return self.url_for(source.value, source.value)
        if source.kind is SourceKind.CLOUD_URI:
            return self.presign_url(source.value, source.scheme, task_id)
        if source.kind is SourceKind.WEB_URL:
            return parse_url(source.value)
        raise ImageFetchError(f"a {source.kind.value} is not downloaded")

    def url_for(self, path: str, original: str) -> Url:
        """`path` (a Label Studio file path, query included) under this Label Studio."""
        if not self.url:
            raise ImageFetchError(
                f"{safe_url(original)} is a Label Studio path but the Label Studio URL is "
                f"unknown: set LABEL_STUDIO_URL (e.g. http://localhost:8080) so it can be "
                f"downloaded"
            )
        url = parse_url(self.url + path)
        self.check_file_path(url)
        return url

    def presign_url(self, uri: str, scheme: str, task_id) -> Url:
        """Label Studio's presign endpoint for a cloud URI: it redirects to a signed URL."""
        if task_id is None or task_id == "":
            raise ImageFetchError(
                f"{scheme}:// URIs are resolved through Label Studio's presign "
                f"endpoint, which needs the task id; none was given"
            )
        fileuri = base64.urlsafe_b64encode(uri.encode("utf-8")).decode("ascii")
        path = f"/tasks/{urllib.parse.quote(str(task_id), safe='')}/presign/?" + urllib.parse.urlencode(
            {"fileuri": fileuri}
        )
        return self.url_for(path, uri)

    def check_file_path(self, url: Url) -> None:
        """Refuse Label Studio paths that serve no task files (`/api/...`, traversal...)."""
        base = self._base.path.rstrip("/") if self._base else ""
        rel = url.path[len(base) :] if url.path.startswith(base + "/") else ""
        decoded = urllib.parse.unquote(rel)
        segments = decoded.split("/")
        if not _LS_FILE_PATH.match(rel) or "\\" in decoded or "." in segments or ".." in segments:
            raise ImageFetchError(
                f"{url.safe()} is not a Label Studio file path (/data/upload/, "
                f"/data/local-files/, /storage-data/, presign); refused"
            )
