"""ocr_backend.redaction: what counts as a secret in a log line, and who turns the filter on.

Importing the package must leave logging alone (a library user, a test or a worker process decides
what its logging does); the entry points install the filter explicitly. That is checked in a fresh
interpreter, since this test process may have imported and installed things already.
"""

import io
import logging
import subprocess
import sys
import textwrap

import pytest

from ocr_backend import redaction
from ocr_backend.redaction import RedactionFilter, mask, redact, safe_url, scrub_queries


@pytest.fixture
def log_redaction():
    """Like an entry point: install, then take it off again so later tests log unredacted."""
    already = redaction.installed()
    yield redaction.install
    for redactor in redaction.installed():
        if redactor not in already:
            for target in [*map(logging.getLogger, redaction.LOGGERS), *logging.getLogger().handlers]:
                target.removeFilter(redactor)


def test_query_strings_are_scrubbed_in_urls_and_bare_paths():
    text = (
        'GET http://h:9/a.png?X-Amz-Signature=abc&x=1 HTTP/1.1 and "/b/c.png?sig=2" '
        "and /d?e=f) but not a question? mark"
    )
    scrubbed = scrub_queries(text)
    assert "abc" not in scrubbed and "sig=2" not in scrubbed and "e=f" not in scrubbed
    assert "http://h:9/a.png?… HTTP/1.1" in scrubbed and '"/b/c.png?…"' in scrubbed
    assert "/d?…)" in scrubbed and "a question? mark" in scrubbed


def test_redact_covers_headers_json_fields_configured_secrets_and_queries():
    text = (
        "Host: x\r\nAuthorization: Bearer eyJ.abc\r\ncookie: sid=1\r\nX-Api-Key: k1\r\n"
        '{"project": "1", "access_token": "tok", "Refresh" : "pat", "password": "pw", '
        '"image": "https://b/i.png?sig=s1", "note": "my-k3y inside"}'
    )
    out = redact(text, ["my-k3y", ""])
    for secret in ("eyJ.abc", "sid=1", "k1", '"tok"', '"pat"', '"pw"', "sig=s1", "my-k3y"):
        assert secret not in out, secret
    assert "Host: x" in out and '"project": "1"' in out and "Authorization: ***" in out
    assert '"access_token": "***"' in out and "https://b/i.png?…" in out


def test_an_empty_secret_redacts_nothing():
    assert redact("plain text", ["", ""]) == "plain text"
    assert RedactionFilter(["", "a"]).secrets == ["a"]


def test_safe_url_and_mask():
    assert safe_url("https://user:pw@example.com:8443/a/b.png?sig=1#frag") == "https://example.com:8443/a/b.png?…"
    assert safe_url("data:image/png;base64,AAAA") == "data: URI"
    assert safe_url("http://a\\@b/x") == "(malformed URL)"  # which host it names is ambiguous
    assert safe_url("/data/upload/1.png?token=t") == "/data/upload/1.png?…"
    assert len(safe_url("http://h/" + "a" * 500)) <= 201
    assert mask("secret") == "***" and mask("") == "(none)"


def _record(msg, *args):
    return logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, msg, args, None)


def test_filter_rewrites_only_records_that_held_a_secret():
    redactor = RedactionFilter(["k3y"])
    leaky = _record('%s "GET %s HTTP/1.1" %s', "http://h:1", "/a.png?sig=1&key=k3y", 200)
    assert redactor.filter(leaky) is True
    assert leaky.getMessage() == 'http://h:1 "GET /a.png?… HTTP/1.1" 200' and leaky.args is None
    clean = _record("fetched %s", "/a.png")
    assert redactor.filter(clean) is True and clean.args == ("/a.png",)  # left as it was
    broken = _record("%d", "not a number")
    assert redactor.filter(broken) is True  # logging reports the bad record itself


def test_install_covers_the_noisy_loggers_and_the_root_handlers(log_redaction):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        redactor = log_redaction(["conf-key"])
        assert handler.filters == [redactor]
        for name in redaction.LOGGERS:
            assert redactor in logging.getLogger(name).filters
        again = log_redaction(["other-key"])
        assert again is redactor and redaction.installed() == [redactor]
        assert handler.filters == [redactor]  # not stacked twice
        assert {"conf-key", "other-key"} <= set(redactor.secrets)
        # A logger of our own: its records are redacted by the root handler's copy.
        logging.getLogger("ocr_backend.test_redaction").warning("key conf-key, other-key, /x?sig=1")
        assert stream.getvalue().strip() == "key ***, ***, /x?…"
    finally:
        root.removeHandler(handler)


_FRESH = textwrap.dedent("""
    import io, logging
    stream = io.StringIO()
    logging.basicConfig(level=logging.DEBUG, stream=stream, format="%(message)s")
    import ocr_backend.images.fetch, ocr_backend.images.ls_auth, ocr_backend.images.ssrf
    import ocr_backend.images.sources, ocr_backend.web.stock_app, ocr_backend.cli.main
    from ocr_backend import redaction
    names = ("", *redaction.LOGGERS)
    filters = [f for n in names for f in logging.getLogger(n).filters]
    filters += [f for h in logging.getLogger().handlers for f in h.filters]
    assert filters == [], filters
    line = logging.getLogger("urllib3.connectionpool")
    line.debug('%s "GET %s HTTP/1.1" 200', "http://h", "/a.png?X-Amz-Signature=SIG")
    assert "SIG" in stream.getvalue(), "nothing installed, nothing redacted"
    redaction.install(["sec-ret"])
    line.debug('%s "GET %s HTTP/1.1" 200', "http://h", "/b.png?X-Amz-Signature=SIG2")
    logging.getLogger("label_studio_ml.api").debug("Authorization: Basic c2VjLXJldA==")
    logging.getLogger("ocr_backend.any").info("the key is sec-ret")
    tail = stream.getvalue().split("/a.png", 1)[1]
    assert "SIG2" not in tail and "c2VjLXJldA" not in tail and "sec-ret" not in tail, tail
    assert "/b.png?…" in tail and "the key is ***" in tail, tail
    print("ok")
""")


def test_importing_installs_nothing_and_install_does():
    proc = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_passwords_in_url_user_information_are_redacted():
    text = 'fetching http://user:s3cr3t@host:8080/x.png and {"image": "https://scan:pw@h/p.png"}'
    out = redaction.redact(text)
    assert "s3cr3t" not in out and "pw@" not in out and "http://***@host:8080/x.png" in out
    # An @ in a path or an e-mail address is not user information.
    assert redaction.redact("see http://host/x@2x.png or a@b.com") == "see http://host/x@2x.png or a@b.com"
