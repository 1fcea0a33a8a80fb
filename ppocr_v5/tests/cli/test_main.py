"""cli/main.py: what the user can fix is a usage error (exit 2, one line naming the fix); a bug is
not dressed up as one (it was: the command caught every ValueError)."""

import base64
import json

import httpx
import pytest
import requests_mock

from ocr_backend.cli import export_paddleocr, main
from ocr_backend.cli.ls_rest import LabelStudioRest, SdkTransport
from ocr_backend.errors import LabelStudioApiError


@pytest.mark.parametrize(
    "argv, says",
    [
        (["annotate", "--project", "1", "--workers", "0"], "--workers must be at least 1"),
        (["export", "--from-json", "{dir}/missing.json", "--out", "{dir}/out"], "cannot read it"),
        (["export", "--from-json", "{dir}/broken.json", "--out", "{dir}/out"], "cannot read it"),
        (["export", "--from-json", "{dir}/object.json", "--out", "{dir}/out"], "is not a Label Studio JSON export"),
        (["export", "--from-json", "{dir}/object.json", "--out", "{dir}/out", "--val-fraction", "1"], "[0, 1)"),
        (
            ["export", "--from-json", "{dir}/mixed.json", "--out", "{dir}/out"],
            "mixed.json: item 1 is not a Label Studio",
        ),
        (["export", "--from-json", "{dir}/bad_data.json", "--out", "{dir}/out"], "bad_data.json: item 0 is not"),
    ],
)
def test_what_the_user_can_fix_is_a_usage_error(argv, says, tmp_path, capsys):
    (tmp_path / "broken.json").write_text("[{", encoding="utf-8")
    (tmp_path / "object.json").write_text("{}", encoding="utf-8")
    (tmp_path / "mixed.json").write_text('[{"id": 1, "data": {}}, "a string"]', encoding="utf-8")
    (tmp_path / "bad_data.json").write_text('[{"id": 1, "data": ["a list"]}]', encoding="utf-8")
    assert main.main([arg.format(dir=tmp_path) for arg in argv]) == main.EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_dpi_out_of_range_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as stopped:
        main.main(["import-pdf", "a.pdf", "--project", "1", "--dpi", "5"])
    assert stopped.value.code == main.EXIT_USAGE and "use a value between 10 and 1200" in capsys.readouterr().err


@pytest.mark.parametrize("bug", [ValueError("a bug"), KeyError("a bug"), TypeError("a bug")])
def test_a_bug_is_not_reported_as_a_usage_error(bug, tmp_path, monkeypatch):
    def broken(args, settings, client):
        raise bug

    monkeypatch.setattr(export_paddleocr, "run_export", broken)
    with pytest.raises(type(bug), match="a bug"):
        main.main(["export", "--from-json", str(tmp_path / "tasks.json"), "--out", str(tmp_path / "out")])


# --- Label Studio's answers, as the commands report them (cli/ls_client.py over cli/ls_rest.py) ---------

LS = "http://ls.test:8080"
KEY = "legacy-secret-0123"
CONFIG = '<View><Image name="image" value="$image"/><Rectangle name="bbox" toName="image"/></View>'


def _jwt(**claims):
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{part}.sig"


@pytest.fixture
def ls():
    with requests_mock.Mocker() as mocker:
        yield mocker


def _export(tmp_path, key=KEY, url=LS):
    return main.main(
        ["export", "--project", "7", "--url", url, "--api-key", key, "--out", str(tmp_path), "--no-progress"]
    )


def test_a_refused_key_is_a_usage_error_with_advice_and_without_the_key(ls, tmp_path, capsys):
    ls.get(f"{LS}/api/projects/7/", status_code=401, json={"detail": "Invalid token."})
    assert _export(tmp_path) == main.EXIT_USAGE
    err = capsys.readouterr().err
    assert "GET /api/projects/7/: Label Studio refused the key (HTTP 401)" in err and "legacy tokens" in err
    assert KEY not in err and "Traceback" not in err
    assert ls.last_request.headers["Authorization"] == f"Token {KEY}"


def test_a_pat_is_exchanged_once_and_renewed_once_when_label_studio_refuses_its_access_token(ls, tmp_path):
    pat = _jwt(token_type="refresh", exp=4102444800)
    refresh = ls.post(f"{LS}/api/token/refresh/", [{"json": {"access": "access-1"}}, {"json": {"access": "access-2"}}])
    project = ls.get(
        f"{LS}/api/projects/7/",
        [{"status_code": 401, "json": {"detail": "expired"}}, {"json": {"id": 7, "label_config": CONFIG}}],
    )
    tasks = ls.get(f"{LS}/api/tasks/", json={"tasks": [], "total": 0})
    assert _export(tmp_path, key=pat) == 0
    assert [r.json() for r in refresh.request_history] == [{"refresh": pat}, {"refresh": pat}]
    assert [r.headers["Authorization"] for r in project.request_history] == ["Bearer access-1", "Bearer access-2"]
    assert tasks.last_request.headers["Authorization"] == "Bearer access-2"
    assert tasks.last_request.qs["fields"] == ["all"] and tasks.last_request.qs["project"] == ["7"]


def test_a_redirect_is_not_followed_with_the_key(ls, tmp_path, capsys):
    ls.get(f"{LS}/api/projects/7/", status_code=302, headers={"Location": "http://elsewhere.test/steal"})
    elsewhere = ls.get("http://elsewhere.test/steal", json={})
    assert _export(tmp_path) == main.EXIT_USAGE
    assert "GET /api/projects/7/: HTTP 302" in capsys.readouterr().err and elsewhere.call_count == 0


def test_a_server_error_names_the_call_and_is_not_retried(ls, tmp_path, capsys):
    ls.get(f"{LS}/api/projects/7/", json={"id": 7, "label_config": CONFIG})
    tasks = ls.get(f"{LS}/api/tasks/", status_code=500, json={"detail": "database is locked"})
    assert _export(tmp_path) == main.EXIT_USAGE
    assert 'GET /api/tasks/: HTTP 500: {"detail": "database is locked"}' in capsys.readouterr().err
    assert tasks.call_count == 1


def test_an_answer_that_is_not_json_says_the_url_may_be_wrong(ls, tmp_path, capsys):
    ls.get(f"{LS}/api/projects/7/", text="<html>a login page</html>")
    assert _export(tmp_path) == main.EXIT_USAGE
    assert f"GET /api/projects/7/: the answer is not JSON; is {LS} Label Studio?" in capsys.readouterr().err


def test_no_label_studio_listening_is_a_usage_error(tmp_path, capsys):
    url = "http://127.0.0.1:9"  # the discard port: nothing listens
    assert _export(tmp_path, url=url) == main.EXIT_USAGE
    err = capsys.readouterr().err
    assert f"cannot reach Label Studio at {url} (ConnectionError)" in err and "Traceback" not in err


def test_the_sdk_transport_sends_nothing_outside_the_label_studio_url(ls):
    rest = LabelStudioRest(LS + "/ls", KEY)
    with pytest.raises(LabelStudioApiError, match="not under http://ls.test:8080/ls"):
        SdkTransport(rest).handle_request(httpx.Request("GET", "http://ls.test:8080/api/projects/"))
    assert ls.call_count == 0
