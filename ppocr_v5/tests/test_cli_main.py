"""cli/main.py: what the user can fix is a usage error (exit 2, one line naming the fix); a bug is
not dressed up as one (it was: the command caught every ValueError)."""

import pytest

from ocr_backend.cli import export_paddleocr, main


@pytest.mark.parametrize(
    "argv, says",
    [
        (["annotate", "--project", "1", "--workers", "0"], "--workers must be at least 1"),
        (["export", "--from-json", "{dir}/missing.json", "--out", "{dir}/out"], "cannot read it"),
        (["export", "--from-json", "{dir}/broken.json", "--out", "{dir}/out"], "cannot read it"),
        (["export", "--from-json", "{dir}/object.json", "--out", "{dir}/out"], "is not a Label Studio JSON export"),
        (["export", "--from-json", "{dir}/object.json", "--out", "{dir}/out", "--val-fraction", "1"], "[0, 1)"),
    ],
)
def test_what_the_user_can_fix_is_a_usage_error(argv, says, tmp_path, capsys):
    (tmp_path / "broken.json").write_text("[{", encoding="utf-8")
    (tmp_path / "object.json").write_text("{}", encoding="utf-8")
    assert main.main([arg.format(dir=tmp_path) for arg in argv]) == main.EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_dpi_out_of_range_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as stopped:
        main.main(["import-pdf", "a.pdf", "--project", "1", "--dpi", "5"])
    assert stopped.value.code == main.EXIT_USAGE and "use a value between 10 and 1200" in capsys.readouterr().err


@pytest.mark.parametrize("bug", [ValueError("a bug"), KeyError("a bug"), TypeError("a bug")])
def test_a_bug_is_not_reported_as_a_usage_error(bug, tmp_path, monkeypatch):
    def broken(args):
        raise bug

    monkeypatch.setattr(export_paddleocr, "run_export", broken)
    with pytest.raises(type(bug), match="a bug"):
        main.main(["export", "--from-json", str(tmp_path / "tasks.json"), "--out", str(tmp_path / "out")])
