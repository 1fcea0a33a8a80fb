"""make bench's comparisons in one run (bench/variants.py, bench/make_300dpi.py): the parsing, the
per-language time ratios, the table columns (a missing orientation model says so), the 300-dpi copy.

The runs themselves (two gunicorn servers, in turn) print timings and are `make bench`'s, not here.
"""

import json

import cv2
import numpy as np
import pytest

import figures  # bench/ is on pytest.ini's pythonpath
import make_300dpi
import report_tables
import variants
from tests.bench.reports import accuracy, bench_report


def test_a_variant_is_a_name_and_its_environment():
    name, env = variants.parse_variant("orientation on:USE_DOC_ORIENTATION=true, USE_TEXTLINE_ORIENTATION=true")
    assert name == "orientation on"
    assert env == {"USE_DOC_ORIENTATION": "true", "USE_TEXTLINE_ORIENTATION": "true"}
    assert variants.parse_variant("every pixel:DET_AUTO_SCALE=false") == ("every pixel", {"DET_AUTO_SCALE": "false"})
    for bad in ("no-colon", ":A=1", "x:A"):
        with pytest.raises(ValueError):
            variants.parse_variant(bad)


def test_a_missing_model_is_found_in_the_servers_log():
    log = "INFO ready\nERROR ModelUnavailableError: PP-LCNet_x1_0_doc_ori (for USE_DOC_ORIENTATION=true)\n"
    assert variants.missing_model_reason(log) == "PP-LCNet_x1_0_doc_ori (for USE_DOC_ORIENTATION=true)"
    traceback_line = "    raise ModelUnavailableError(missing_model_message(self.settings, names, exc)) from exc\n"
    assert variants.missing_model_reason(traceback_line + log).startswith("PP-LCNet_x1_0_doc_ori")
    assert variants.missing_model_reason("INFO ready\n") is None


def test_time_ratios_are_per_language_medians_of_pages_timed_in_both():
    pages = [{"id": "a", "lang": "en"}, {"id": "b", "lang": "en"}, {"id": "c", "lang": "en"}, {"id": "d", "lang": "zh"}]
    mine = {"a": 2.0, "b": 1.0, "c": 3.0, "d": 5.0}
    base = {"a": 1.0, "b": 1.0, "c": 1.0}  # d not timed in the base: left out
    ratios = variants.ratios_by_lang(pages, mine, base)
    assert ratios == {"en": 2.0, "all": 2.0}
    assert variants.ratio_cell(ratios, "en") == "2.00x" and variants.ratio_cell(ratios, "zh") == "-"


def _report():
    """A 300-dpi run with its twin and two variants, one of which did not run."""
    return bench_report(
        corpus="/x/public-300dpi",
        latency={"p50_s": 1.1, "p95_s": 2.0},
        twin={
            "corpus": "/x/public",
            "accuracy": accuracy(0.91, 0.021, ["en", "zh"]),
            "latency": figures.paired({"p1": 1.0, "p2": 2.0}, {"p1": 1.1, "p2": 2.4}),
            "ratio_by_lang": {"en": 1.1, "zh": 1.2, "all": 1.15},
        },
        variants={
            "orientation on": {
                "env": {"USE_DOC_ORIENTATION": "true"},
                "available": False,
                "reason": "model missing (PP-LCNet_x1_0_doc_ori)",
            },
            "every pixel": {
                "env": {"DET_AUTO_SCALE": "false"},
                "available": True,
                "accuracy": accuracy(0.92, 0.019, ["en", "zh"]),
                "latency": figures.paired({"p1": 1.1, "p2": 2.4}, {"p1": 2.2, "p2": 4.8}),
                "ratio_by_lang": {"en": 2.0, "zh": 2.1, "all": 2.05},
            },
        },
    )


def test_the_language_table_has_a_column_pair_per_comparison_and_says_why_one_did_not_run():
    rows = report_tables.language_table(_report())
    assert rows[0] == (
        "| lang | pages | ours: F1 / CER | public twin: F1 / CER | time / public twin"
        " | orientation on: F1 / CER | orientation on: time / ours"
        " | every pixel: F1 / CER | every pixel: time / ours |"
    )
    assert rows[2] == (
        "| en | 1 | 0.900 / 2.00 % | 0.910 / 2.10 % | 1.10x"
        " | not run: model missing (PP-LCNet_x1_0_doc_ori) | -"
        " | 0.920 / 1.90 % | 2.00x |"
    )
    assert rows[-1].startswith("| all | 2 | 0.900 / 2.00 % | 0.910 / 2.10 % | 1.15x |")


def test_the_summary_gives_the_twin_ratio_and_each_variant():
    summary = "\n".join(report_tables.summary_table(_report()))
    assert "| time vs the public twin (same server, in turn), 2 pages | 1.15x per-page median" in summary
    assert "F1 0.900 vs twin 0.910" in summary
    assert "| orientation on | not run: model missing (PP-LCNet_x1_0_doc_ori) |" in summary
    assert "every pixel (DET_AUTO_SCALE=false), in turn, 2 pages | p50 3.50 s; 2.00x ours per-page median" in summary


def test_pages_are_grouped_by_their_quarter_turn_only_where_the_index_gives_one():
    pages = [{"id": "a", "quarter_turn": 0}, {"id": "b", "quarter_turn": 90}, {"id": "c", "quarter_turn": 180}]
    assert figures.turn_groups(pages) == {"upright": ["a"], "turned": ["b", "c"]}
    assert figures.turn_groups(pages, ["b"]) == {"turned": ["b"]}  # a subset read: only its pages
    assert figures.turn_groups([{"id": "a"}, {"id": "b"}]) is None  # public, public-degraded


def test_the_turn_table_gives_upright_and_turned_pages_and_their_gap_for_ours_and_each_variant():
    report = _report()
    report["accuracy"]["by_turn"] = {
        "upright": dict(accuracy(0.9, 0.03, [])["overall"], pages=5),
        "turned": dict(accuracy(0.85, 0.045, [])["overall"], pages=16),
    }
    report["variants"]["every pixel"]["accuracy"]["by_turn"] = {"upright": accuracy(0.8, 0.02, [])["overall"]}
    assert report_tables.turn_table(report) == [
        "| pages | count | ours: F1 / CER | every pixel: F1 / CER |",
        "|---|---|---|---|",
        "| upright | 5 | 0.900 / 3.00 % | 0.800 / 2.00 % |",
        "| turned | 16 | 0.850 / 4.50 % | - |",
        "| turned - upright | - | -0.050 / +1.50 points | - |",
    ]
    assert report_tables.turn_table(_report()) == []  # no page with a quarter turn: no table


def test_the_300dpi_copy_scales_images_and_ground_truth_and_keeps_the_ids(tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "gt").mkdir()
    image = np.full((60, 80, 3), 255, np.uint8)
    image[20:30, 10:50] = 0
    cv2.imwrite(str(src / "images" / "p1.png"), image)
    gt = {"id": "p1", "width": 80, "height": 60, "dpi": 150, "lang": "en"}
    gt["lines"] = [{"text": "x", "bbox": [10, 20, 50, 30], "bbox_ink": [11, 21, 49, 29], "ignore": False}]
    (src / "gt" / "p1.json").write_text(json.dumps(gt))
    index = {"split": "public", "pages": [{"id": "p1", "image": "images/p1.png", "gt": "gt/p1.json", "lang": "en"}]}
    (src / "index.json").write_text(json.dumps(index))

    dest = tmp_path / "dest"
    assert make_300dpi.make_copy(str(src), str(dest), 2.0) == (1, 1)
    big = cv2.imread(str(dest / "images" / "p1.png"))
    assert big.shape == (120, 160, 3)
    assert big[50, 60].max() < 64 and big[10, 10].min() > 200  # the ink moved with the scale
    copied = json.loads((dest / "gt" / "p1.json").read_text())
    assert (copied["width"], copied["height"], copied["dpi"]) == (160, 120, 300)
    assert copied["lines"][0]["bbox"] == [20, 40, 100, 60] and copied["lines"][0]["bbox_ink"] == [22, 42, 98, 58]
    assert json.loads((dest / "index.json").read_text())["pages"][0]["id"] == "p1"
    assert make_300dpi.make_copy(str(src), str(dest), 2.0) == (0, 1)  # images already there
