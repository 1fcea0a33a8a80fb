"""`make bench`: the backend over HTTP, as Label Studio calls it, on a corpus of pages, with yardsticks.

Starts the backend as the README does (gunicorn from ppocr_v5/ with gunicorn.conf.py), serves the
page images from a loopback HTTP server, POSTs /setup then /predict with tasks
{"id": n, "data": {"image": "http://127.0.0.1:PORT/<page>.png"}} and measures:

  * time from process start to the first prediction (lazy model load included),
  * per-page latency p50/p95 (one task per request, one request at a time, after warm-up),
  * the RapidOCR yardsticks on the same pages, IN TURN with ours (page 1: ours over HTTP, RapidOCR on
    our weights, RapidOCR's defaults; page 2: ...), so machine noise hits all alike: per-page
    times, p50s and ratios (their time / ours, same pages), in one persistent process
    (bench/peer_rapidocr.py says what "same weights" and "defaults" set), same CPU threads,
  * throughput in pages/s for batches of --batch tasks per request and for --clients concurrent
    one-task clients (--no-throughput skips both),
  * peak RSS of the server process tree (master + workers),
  * accuracy: LS results converted back to pixel polygons, scored by the corpus' score.py
    (detection P/R/F1 @ IoU 0.5, CER) overall and per language, for ours and each yardstick,
  * the peer configuration (PaddleX OCR pipeline, Paddle engine with oneDNN off = run_mode
    "paddle", rebuilt for every request, one task at a time) on --peer-pages pages, in a separate
    process after the backend has stopped, and our speed as a ratio to it.

Prints the tables (markdown), writes bench/results/latest.json (--out elsewhere).

`make bench` runs it twice: on ../shared/corpus/public (everything), then on
../shared/corpus/public-degraded (the same pages as scans: scaled, blurred, noisy, JPEG) with the
yardsticks but without the peer and the throughput phases, writing bench/results/latest-degraded.json;
then on ../shared/corpus/public-photo and on a 300-dpi copy of public (bench/make_300dpi.py), each with
orientation on as a --variant (a second server, asked right after ours for every page), the 300-dpi
run with --twin (each page's 150-dpi twin read in turn on our server) and DET_AUTO_SCALE=false as
another variant (bench/variants.py). BENCH_ARGS is passed to every run. Where the corpus index gives
each page's quarter_turn (public-photo), a last table sets the upright pages beside the turned ones.

    export PYTHONPATH=ppocr_v5 PATH=.venv/bin:$PATH           # what `make bench` sets
    .venv/bin/python bench/run_bench.py                       # public corpus, everything
    .venv/bin/python bench/run_bench.py --corpus DIR          # any corpus in the same format
    .venv/bin/python bench/run_bench.py --pages 12 --spread --peer-pages 1   # a quick run, all languages
    .venv/bin/python bench/run_bench.py --rapidocr same       # one yardstick (both, same, defaults, none)
    .venv/bin/python bench/run_bench.py --env REC_BATCH_SIZE=1 --env DET_LIMIT_SIDE_LEN=960 ...
    .venv/bin/python bench/run_bench.py --langs en,zh,ja --variant "v6 small:PPOCR_VERSION=v6,MODEL_VARIANT=small"

The corpus index is sorted by language: --pages N alone takes the first N pages (the first
languages), --spread takes N pages evenly spaced over the index instead.

This file is the command line; in_turn.py runs the servers and reads the pages in turn (the backend,
page host and RSS sampler are the tests' own, tests/support: PYTHONPATH=ppocr_v5, as the
Makefile sets), yardsticks.py keeps the RapidOCR figures, peer_ppocr_example.py runs and reports the
peer, throughput.py the throughput phases, figures.py the arithmetic, report_tables.py the tables.
"""

import argparse
import datetime
import json
import os
import sys

import common
import peer_ppocr_example
import report_tables
import variants
from figures import machine, spread
from in_turn import Run
from throughput import Throughput
from yardsticks import CHOICES, Yardsticks

REPO = common.REPO


def options():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--corpus",
        default=os.path.relpath(common.DEFAULT_CORPUS, os.getcwd()),
        help="corpus split dir with index.json, images/, gt/ (default: %(default)s)",
    )
    ap.add_argument("--pages", type=int, default=0, help="use only N pages (0: all): the first N, or see --spread")
    ap.add_argument(
        "--spread", action="store_true", help="with --pages N: N pages evenly spaced over the index (all languages)"
    )
    ap.add_argument("--langs", default="", help="only pages of these languages (comma-separated), before --pages")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up requests after the first prediction")
    ap.add_argument(
        "--rapidocr",
        choices=tuple(CHOICES),
        default="both",
        help="RapidOCR yardsticks, in turn with ours: same weights, defaults, both or none (default: %(default)s)",
    )
    ap.add_argument("--batch", type=int, default=8, help="tasks per request in the batch phase")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients in the concurrency phase")
    ap.add_argument(
        "--throughput-pages", type=int, default=16, help="pages used by the batch and concurrency phases (0: all)"
    )
    ap.add_argument("--no-throughput", action="store_true", help="skip the batch and concurrency phases")
    ap.add_argument("--peer-pages", type=int, default=3, help="pages for the peer configuration (0: skip)")
    ap.add_argument("--peer-threads", type=int, default=0, help="peer CPU threads (0: the cores we may use)")
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra backend environment (repeatable), e.g. REC_BATCH_SIZE=1",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="a second backend with this environment, asked right after ours for every page (repeatable)",
    )
    ap.add_argument(
        "--twin",
        default="",
        help="a corpus with the same page ids at another resolution (the 150-dpi source of a 300-dpi copy):"
        " each page is also read from it, in turn, for the time ratio and its F1/CER",
    )
    ap.add_argument("--python", default=os.path.join(REPO, ".venv", "bin", "python"))
    ap.add_argument(
        "--out",
        default=os.path.join(REPO, "bench", "results", "latest.json"),
        help="JSON report; the logs go beside it (default: %(default)s)",
    )
    return ap


def chosen_pages(corpus, a):
    """The run's pages (--langs, then --pages / --spread) and whether they are a subset of the corpus."""
    everything = common.load_index(corpus)
    pages = [p for p in everything if p["lang"] in a.langs.split(",")] if a.langs else everything
    if a.pages:
        pages = spread(pages, a.pages) if a.spread else pages[: a.pages]
    if not pages:
        sys.exit("no pages in " + corpus)
    return pages, len(pages) < len(everything)


def main():
    a = options().parse_args()
    corpus = os.path.abspath(a.corpus)
    pages, subset = chosen_pages(corpus, a)
    env_extra = dict(kv.split("=", 1) for kv in a.env)
    rapid_engines = CHOICES[a.rapidocr]
    variant_envs = dict(variants.parse_variant(spec) for spec in a.variant)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    stem = os.path.splitext(os.path.abspath(a.out))[0]
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "corpus": corpus,
        "pages": len(pages),
        "page_ids": [p["id"] for p in pages],
        "server_env": env_extra,
    }
    run = Run(
        corpus,
        pages,
        env_extra,
        stem,
        a.python,
        twin=os.path.abspath(a.twin) if a.twin else "",
        variant_envs=variant_envs,
        yardsticks=Yardsticks(rapid_engines, stem + ".rapidocr.log") if rapid_engines else None,
    )
    run.measure(report, a.warmup, None if a.no_throughput else Throughput(a.batch, a.clients, a.throughput_pages))
    run.score(report, [p["id"] for p in pages] if subset else None)

    # 6. the peer, alone on the machine now
    if a.peer_pages:
        threads = a.peer_threads or int(env_extra.get("CPU_THREADS", 0)) or report["machine"]["cores"]
        peer_pages = spread(pages, a.peer_pages)  # spread over the corpus (it is sorted by language)
        ours = [run.ours.seconds[p["id"]] for p in peer_pages]
        report["peer"] = peer_ppocr_example.measure([run.path_of(p) for p in peer_pages], threads, a.python, ours)

    with open(a.out, "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
    print()
    print("\n".join(report_tables.summary_table(report)))
    print()
    print("\n".join(report_tables.language_table(report)))
    turns = report_tables.turn_table(report)
    if turns:
        print()
        print("\n".join(turns))
    print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
