"""images/sources.py without sockets: how a task's image value is routed, and which Label Studio paths
may carry the key. The same rules are exercised over HTTP in images/test_fetch.py and contracts/test_hostile_urls.py."""

import base64
import urllib.parse

import pytest

from ocr_backend.core.urls import parse_url
from ocr_backend.errors import ImageFetchError
from ocr_backend.images.sources import LabelStudioFiles, SourceKind, classify, label_studio_base, scheme_of


@pytest.mark.parametrize(
    "value, kind, scheme",
    [
        ("data:image/png;base64,AAAA", SourceKind.DATA_URI, "data"),
        ("DATA:text/plain,x", SourceKind.DATA_URI, "data"),
        ("/data/upload/1/a.png", SourceKind.LABEL_STUDIO_PATH, ""),
        ("/api/projects/", SourceKind.LABEL_STUDIO_PATH, ""),  # routed here, refused by LabelStudioFiles
        ("s3://bucket/a.png", SourceKind.CLOUD_URI, "s3"),
        ("GS://bucket/a.png", SourceKind.CLOUD_URI, "gs"),
        ("azure-blob://c/a.png", SourceKind.CLOUD_URI, "azure-blob"),
        ("azure-spi://c/a.png", SourceKind.CLOUD_URI, "azure-spi"),
        ("http://h/a.png", SourceKind.WEB_URL, "http"),
        ("HTTPS://h/a.png", SourceKind.WEB_URL, "https"),
    ],
)
def test_classify_routes_each_kind(value, kind, scheme):
    source = classify(value)
    assert (source.kind, source.value, source.scheme) == (kind, value, scheme)


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "the image URL is empty"),
        ("//h/a.png?sig=1", r"protocol-relative URL http://h/a.png\?… is not supported"),
        ("images/a.png", "neither an absolute URL nor a Label Studio path"),
        ("file:///etc/passwd", "unsupported URL scheme 'file'"),
        ("C:\\img\\a.png", "unsupported URL scheme 'c'"),
        ("ftp://h/a.png?sig=1", r"scheme 'ftp' in ftp://h/a.png\?…; use http\(s\), data:"),
    ],
)
def test_classify_refuses_with_todays_messages(value, message):
    with pytest.raises(ImageFetchError, match=message) as info:
        classify(value)
    assert "sig=1" not in str(info.value)


def test_scheme_of():
    assert scheme_of("Azure-Blob://x") == "azure-blob" and scheme_of("/data/x") == "" and scheme_of("") == ""


def files(base="http://ls.example:8080"):
    return LabelStudioFiles(label_studio_base(base))


def test_label_studio_paths_join_the_base_url():
    url = files().download_url(classify("/data/local-files/?d=dir/a.png"))
    assert url.geturl() == "http://ls.example:8080/data/local-files/?d=dir/a.png"
    assert files().origin == ("http", "ls.example", 8080)


def test_a_base_url_with_a_path_prefix_keeps_it():
    f = files("https://h.example/ls/")
    assert f.url == "https://h.example/ls"
    assert f.url_for("/data/upload/1/a.png", "x").geturl() == "https://h.example/ls/data/upload/1/a.png"
    with pytest.raises(ImageFetchError, match="not a Label Studio file path"):
        f.check_file_path(parse_url("https://h.example/data/upload/1/a.png"))  # outside the prefix


def test_cloud_uris_go_to_the_presign_endpoint_of_their_task():
    url = files().download_url(classify("s3://bucket/dir/a b.png"), task_id="7/8")
    assert url.path == "/tasks/7%2F8/presign/"
    fileuri = urllib.parse.parse_qs(url.query)["fileuri"][0]
    assert base64.urlsafe_b64decode(fileuri).decode() == "s3://bucket/dir/a b.png"
    for missing in (None, ""):
        with pytest.raises(ImageFetchError, match="needs the task id"):
            files().presign_url("gs://b/a.png", "gs", missing)


def test_web_urls_are_read_strictly():
    assert files().download_url(classify("HTTP://Foreign.Example/a.png?s=1")).origin == ("http", "foreign.example", 80)


def test_data_uris_are_not_downloaded():
    with pytest.raises(ImageFetchError, match="not downloaded"):
        files().download_url(classify("data:,x"))


def test_no_label_studio_url_asks_for_one():
    for base in ("", "localhost:8080", "http://h:99999", "http://u:p@h/", "http://h/?q=1"):
        f = files(base)
        assert f.url == "" and f.origin is None
        with pytest.raises(ImageFetchError, match=r"is a Label Studio path but the Label Studio URL is unknown"):
            f.download_url(classify("/data/upload/1/a.png"))


@pytest.mark.parametrize(
    "path",
    [
        "/data/upload/1/a.png",
        "/data/local-files/",
        "/data/local-files",
        "/storage-data/uploaded/",
        "/tasks/1/presign/",
        "/projects/2/presign",
    ],
)
def test_file_paths_are_allowed(path):
    files().check_file_path(parse_url("http://ls.example:8080" + path))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/projects/",
        "/api/token/refresh/",
        "/data/uploadx/1.png",
        "/data/local-files/x",
        "/tasks/1/",
        "/tasks/1/presign/extra",
        "/data/upload/../../api/projects/",
        "/data/upload/%2e%2e/%2e%2e/api/",
        "/data/upload/..%2f..%2fapi/",
        "/data/upload/./a.png",
        "/data/upload/%5c..%5capi/",
    ],
)
def test_other_paths_are_refused(path):
    with pytest.raises(ImageFetchError, match="is not a Label Studio file path"):
        files().check_file_path(parse_url("http://ls.example:8080" + path))
