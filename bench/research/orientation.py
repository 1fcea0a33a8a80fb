#!/usr/bin/env python3
"""Orientation on vs off: accuracy per language and the time per page, configurations in turn.

Runs the backend's own engine (Settings -> OcrEngine.run, what /predict runs; no OCR cache) on the
en/zh/ja pages of `public-photo` (turned by quarter turns, photographed) and `public` (upright,
clean), once per configuration and page, the configurations taking turns page by page (A B A B)
so load from other processes on shared cores falls on all of them alike. Scores with the corpus's
score.py (detection F1 @ IoU 0.5, CER on matched lines) and prints, per split and language, F1 /
CER / seconds per page, the time ratio to `off` over the same pages, and how much of a page the
classifiers themselves took (timed inside the same runs).

  PYTHONPATH=ppocr_v5 .venv/bin/python bench/research/orientation.py [--splits public-photo,public] [--configs off,doc,doc+line]
writes bench/results/orientation.json and prints Markdown tables (with `uptime` before and after).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import cv2

from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.settings import Settings

from tests.support.corpus import CORPUS, REPO, scorer  # the tests' harness: PYTHONPATH=ppocr_v5

CONFIGS = {  # label -> environment on top of the run's own
    "off": {},
    "doc": {"USE_DOC_ORIENTATION": "true"},
    "line": {"USE_TEXTLINE_ORIENTATION": "true"},
    "doc+line": {"USE_DOC_ORIENTATION": "true", "USE_TEXTLINE_ORIENTATION": "true"},
}
OCR_LANG = {"en": "en", "zh": "ch", "ja": "ch"}  # the ch recogniser reads Japanese too


def pages_of(split, langs):
    with open(os.path.join(CORPUS, split, "index.json"), encoding="utf-8") as f:
        pages = json.load(f)["pages"]
    return [p for p in sorted(pages, key=lambda p: p["id"]) if p["lang"] in langs]


class Timed:
    """Wraps a classifier's angles() to add up the seconds it takes."""

    def __init__(self, classifier):
        self.classifier, self.seconds = classifier, 0.0

    def angles(self, images):
        start = time.perf_counter()
        try:
            return self.classifier.angles(images)
        finally:
            self.seconds += time.perf_counter() - start


def engine_for(config, lang, threads, model_dir, engines, warm_image):
    key = (config, OCR_LANG[lang])
    if key not in engines:
        env = dict(CONFIGS[config], OCR_LANG=OCR_LANG[lang], CPU_THREADS=str(threads), MODEL_DIR=model_dir)
        engine = OcrEngine(Settings.from_env(env))
        engine.run(warm_image)  # builds the pipeline and warms onnxruntime up: not timed
        orientation = engine.orientation
        if orientation is not None:  # time the classifiers inside the runs (this backend's CPU path)
            for part in ("page", "lines"):
                if getattr(orientation, part) is not None:
                    object.__setattr__(orientation, part, Timed(getattr(orientation, part)))
        engines[key] = engine
    return engines[key]


def classifier_seconds(engine):
    orientation = engine.orientation
    parts = [getattr(orientation, p, None) for p in ("page", "lines")] if orientation else []
    return sum(p.seconds for p in parts if isinstance(p, Timed))


def run(split, configs, langs, threads, model_dir, score):
    """{config: [(lang, page score row, seconds, classifier seconds, quarter turn)]}, configurations in turn."""
    engines = {}
    out = {c: [] for c in configs}
    for page in pages_of(split, langs):
        image = cv2.imread(os.path.join(CORPUS, split, page["image"]))
        with open(os.path.join(CORPUS, split, page["gt"]), encoding="utf-8") as f:
            gt = json.load(f)
        for config in configs:
            engine = engine_for(config, page["lang"], threads, model_dir, engines, image)
            before = classifier_seconds(engine)
            start = time.perf_counter()
            output = engine.run(image)
            seconds = time.perf_counter() - start
            spent = classifier_seconds(engine) - before
            preds = [
                {"box": score.to_box({"points": [list(p) for p in line.points]}), "text": line.text}
                for line in output.lines
            ]
            turn = page.get("quarter_turn", 0)
            out[config].append((page["lang"], score.score_page(gt, preds), seconds, spent, turn))
            print(
                f"  {split} {page['id']} (turn {page.get('quarter_turn', 0)}) {config}: angle {output.doc_angle}, "
                f"{len(output.lines)} lines, {seconds:.2f} s (classifiers {spent:.3f} s)",
                file=sys.stderr,
                flush=True,
            )
    return out


def table(rows_by_config, langs, score):
    result = {}
    base = rows_by_config.get("off")
    for config, rows in rows_by_config.items():
        result[config] = {}
        groups = {lang: [i for i, r in enumerate(rows) if lang in ("all", r[0])] for lang in (*langs, "all")}
        if any(r[4] for r in rows):  # public-photo: the upright pages against the turned ones
            groups["upright"] = [i for i, r in enumerate(rows) if not r[4]]
            groups["turned"] = [i for i, r in enumerate(rows) if r[4]]
        for lang, picked in groups.items():
            if not picked:
                continue
            summary = score.summarize([rows[i][1] for i in picked])["overall"]
            seconds = [rows[i][2] for i in picked]
            cell = {
                "pages": len(picked),
                "f1": round(summary["f1"], 4),
                "cer": round(summary["cer"], 4),
                "s_per_page": round(statistics.mean(seconds), 3),
                "classifier_share": round(sum(rows[i][3] for i in picked) / sum(seconds), 4),
            }
            if base is not None:  # the same pages, in the same turns
                cell["time_ratio_to_off"] = round(sum(seconds) / sum(base[i][2] for i in picked), 3)
                ratios = [rows[i][2] / base[i][2] for i in picked]
                cell["median_page_ratio_to_off"] = round(statistics.median(ratios), 3)
            result[config][lang] = cell
    return result


def markdown(split, result, langs):
    cols = list(next(iter(result.values())))
    lines = [
        f"{split}: F1 / CER / s per page / time vs off (sum; median page) / classifiers' share",
        "| config | " + " | ".join(cols) + " |",
        "|" + " --- |" * (len(cols) + 1),
    ]
    for config, cells in result.items():
        shown = [
            f"{c['f1']:.3f} / {c['cer']:.3f} / {c['s_per_page']:.2f} / "
            f"{c.get('time_ratio_to_off', 1):.3f}; {c.get('median_page_ratio_to_off', 1):.3f} / "
            f"{c['classifier_share']:.1%}"
            for c in (cells[col] for col in cols)
        ]
        lines.append(f"| {config} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--splits", default="public-photo,public")
    ap.add_argument("--configs", default="off,doc,doc+line", help="comma-separated: " + ", ".join(CONFIGS))
    ap.add_argument("--langs", default="en,zh,ja")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "orientation.json"))
    args = ap.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    langs = [lang for lang in args.langs.split(",") if lang]
    model_dir = os.environ.get("MODEL_DIR", os.path.join(REPO, "models"))
    score = scorer()
    uptime = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    results = {}
    for split in [s for s in args.splits.split(",") if s]:
        results[split] = table(run(split, configs, langs, args.threads, model_dir, score), langs, score)
        print(markdown(split, results[split], langs), flush=True)
    uptime.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print("uptime before / after:", *uptime, sep="\n  ")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"uptime": uptime, "threads": args.threads, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
