"""make bench's pure parts: page spreading and the paired yardstick ratios (bench/figures.py), the
printed tables (bench/report_tables.py), the environment its servers start with (bench/in_turn.py).

The bench itself (bench/run_bench.py: a real gunicorn, RapidOCR, the peer) takes minutes and prints
timings, so it is run by hand or by `make bench`, not here; these are the parts that turn its
measurements into the figures the README quotes.
"""

import os

import pytest

import common
import figures  # bench/ is on pytest.ini's pythonpath, as make bench runs its scripts
import in_turn
import report_tables
from tests.bench.reports import accuracy, bench_report


def test_spread_takes_pages_from_every_slice_of_the_index():
    assert figures.spread(list(range(10)), 5) == [1, 3, 5, 7, 9]
    assert figures.spread(list(range(3)), 8) == [0, 1, 2]  # never more than there are
    assert figures.spread(list(range(55)), 1) == [27]


@pytest.mark.skipif(not os.path.exists(os.path.join(common.DEFAULT_CORPUS, "index.json")), reason="no corpus")
def test_spread_covers_the_languages_that_the_first_pages_miss():
    # The index is sorted by language: the first 12 pages are ar, bg, el and en only.
    pages = common.load_index()
    first = {p["lang"] for p in pages[:12]}
    spread = {p["lang"] for p in figures.spread(pages, 12)}
    assert len(first) <= 4
    assert len(spread) >= 10


def test_paired_ratios_use_only_the_pages_both_read():
    ours = {"a": 1.0, "b": 2.0, "c": 4.0}
    theirs = {"a": 2.0, "b": 3.0, "c": 12.0, "only-theirs": 100.0}
    got = figures.paired(ours, theirs)
    assert got["pages"] == 3
    assert got["p50_s"] == 3.0 and got["ours_p50_s"] == 2.0
    assert got["ratio_p50"] == 1.5
    assert got["ratio_total"] == round(17 / 7, 2)
    assert got["ratio_median"] == 2.0  # per page: 2.0, 1.5, 3.0
    assert set(got["per_page_s"]) == {"a", "b", "c"}
    assert figures.paired(ours, {"zz": 1.0}) is None


def test_tables_show_each_yardstick_and_leave_out_phases_not_run():
    same = {
        "models": "PP-OCRv5_mobile_det + PP-OCRv5_mobile_rec",
        "latency": figures.paired({"p1": 1.0, "p2": 2.0}, {"p1": 2.5, "p2": 5.0}),
        "accuracy": accuracy(0.8, 0.05, ["en"]),  # read no zh page
    }
    report = bench_report(rapidocr={"version": "3.10.0", "threads": 2, "engines": {"same": same}})
    summary = "\n".join(report_tables.summary_table(report))
    assert "| machine | Test CPU, 2 cores, 24 GiB (load 1.2 at start) |" in summary
    assert "RapidOCR, same weights (PP-OCRv5_mobile_det + PP-OCRv5_mobile_rec; 3.10.0, 2 threads)" in summary
    assert "2.50x (p50); per-page median 2.50x" in summary
    assert "throughput" not in summary and "peer" not in summary  # --no-throughput, --peer-pages 0

    langs = report_tables.language_table(report)
    assert langs[0] == "| lang | pages | ours: F1 / CER | RapidOCR, same weights: F1 / CER |"
    assert "| en | 1 | 0.900 / 2.00 % | 0.800 / 5.00 % |" in langs
    assert "| zh | 1 | 0.900 / 2.00 % | - |" in langs
    assert langs[-1] == "| all | 2 | 0.900 / 2.00 % | 0.800 / 5.00 % |"


def test_tables_without_yardsticks_keep_the_peer_and_throughput_rows():
    report = bench_report(
        batch={"tasks_per_request": 8, "pages_per_s": 0.5},
        concurrent={"clients": 4, "pages_per_s": 0.6, "latency_p50_s": 5.0},
        peer={"pages": [{}, {}], "mean_total_s": 20.0, "mean_build_s": 1.0, "mean_predict_s": 19.0, "speedup": 20.0},
    )
    summary = "\n".join(report_tables.summary_table(report))
    assert "| throughput, 8 tasks/request | 0.50 pages/s |" in summary
    assert "| speed-up vs peer (same pages) | 20.0x |" in summary
    assert "RapidOCR" not in summary
    assert report_tables.language_table(report)[0] == "| lang | pages | ours: F1 / CER |"


def test_the_bench_servers_keep_the_shells_settings_but_never_answer_from_the_result_cache(monkeypatch):
    # in_turn.backend_env: what every server of a run and the RapidOCR yardsticks start with.
    monkeypatch.setenv("CPU_THREADS", "1")  # the tests' launcher drops it; the bench keeps it
    monkeypatch.setenv("WORKERS", "3")  # a server layout comes from --env only
    monkeypatch.setenv("RESULT_CACHE", "true")
    env = in_turn.backend_env({"REC_BATCH_SIZE": "1"})
    assert env["CPU_THREADS"] == "1" and "WORKERS" not in env
    assert env["RESULT_CACHE"] == "false" and env["LOG_LEVEL"] == "WARNING" and env["REC_BATCH_SIZE"] == "1"
    assert in_turn.backend_env({"RESULT_CACHE": "true"})["RESULT_CACHE"] == "true"  # --env measures the cache
