"""Run named configurations over a corpus: accuracy (score.py) + per-page wall/CPU time.

PYTHONPATH=bench python bench/research/sweep.py --configs base,rec_bs1 [--pages all|N|lang,lang] [--no-score]

Configurations are interleaved page by page (machine is shared: compare within one run).
Results are appended to bench/results/sweep.jsonl.
"""
import argparse
import json
import os
import statistics
import time

import common

ORT2 = {"intra_op_num_threads": 2}

# name -> dict(kind="paddlex"|"lean", engine, engine_config, det, rec, ...)
CONFIGS = {
    "base": dict(engine="onnxruntime", engine_config=ORT2),
    "paddle_mkldnn": dict(engine="paddle", engine_config={"run_mode": "mkldnn", "cpu_threads": 2}),
    "paddle_fp32": dict(engine="paddle", engine_config={"run_mode": "paddle", "cpu_threads": 2}),
    "ort_t1": dict(engine="onnxruntime", engine_config={"intra_op_num_threads": 1}),
    "rec_bs1": dict(engine="onnxruntime", engine_config=ORT2, rec={"batch_size": 1}),
    "rec_bs2": dict(engine="onnxruntime", engine_config=ORT2, rec={"batch_size": 2}),
    "rec_bs12": dict(engine="onnxruntime", engine_config=ORT2, rec={"batch_size": 12}),
    "det_max960": dict(engine="onnxruntime", engine_config=ORT2, rec={"batch_size": 1},
                       det={"limit_side_len": 960, "limit_type": "max"}),
    "det_max1280": dict(engine="onnxruntime", engine_config=ORT2, rec={"batch_size": 1},
                        det={"limit_side_len": 1280, "limit_type": "max"}),
    "det_max1536": dict(engine="onnxruntime", engine_config=ORT2, rec={"batch_size": 1},
                        det={"limit_side_len": 1536, "limit_type": "max"}),
}


def build(name):
    spec = CONFIGS[name] if name in CONFIGS else json.loads(name)
    kind = spec.get("kind", "paddlex")
    if kind == "paddlex":
        from paddlex import create_pipeline
        cfg = common.ocr_config(det=spec.get("det"), rec=spec.get("rec"))
        pipe = create_pipeline(config=cfg, device="cpu", engine=spec["engine"],
                               engine_config=spec.get("engine_config"))

        def run(img):
            r = list(pipe.predict(img))[0]
            return [p.tolist() for p in r["rec_polys"]], list(r["rec_texts"])
        return run
    if kind == "lean":
        import lean
        eng = lean.LeanOCR(**spec.get("args", {}))
        def run(img):
            out = eng(img)
            return [o["points"] for o in out], [o["text"] for o in out]
        return run
    raise ValueError(kind)


def select_pages(pages, sel):
    if sel == "all":
        return pages
    if sel.isdigit():
        return pages[: int(sel)]
    if sel.startswith("every"):
        k = int(sel[5:])
        return pages[::k]
    langs = sel.split(",")
    return [p for p in pages if p["lang"] in langs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", required=True)
    ap.add_argument("--corpus", default=common.DEFAULT_CORPUS)
    ap.add_argument("--pages", default="all")
    ap.add_argument("--no-score", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    common.set_paddlex_env(a.threads)
    import cv2
    names = a.configs.split(";") if ";" in a.configs else a.configs.split(",")
    runners = {}
    for n in names:
        t0 = time.perf_counter()
        runners[n] = build(n)
        print(f"built {n} in {time.perf_counter() - t0:.1f}s", flush=True)
    pages = select_pages(common.load_index(a.corpus), a.pages)
    imgs = {}
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    outdir = os.path.join(common.REPO, "bench", "results", "preds")
    warm = cv2.imread(os.path.join(a.corpus, pages[0]["image"]))
    for n in names:
        runners[n](warm)
    for p in pages:
        img = cv2.imread(os.path.join(a.corpus, p["image"]))
        for rep in range(a.repeat):
            order = names if rep % 2 == 0 else names[::-1]
            for n in order:
                t0, c0 = time.perf_counter(), time.process_time()
                polys, texts = runners[n](img)
                wall[n].append(time.perf_counter() - t0)
                cpu[n].append(time.process_time() - c0)
                if rep == 0:
                    common.write_preds(os.path.join(outdir, safe(n)), p["id"], polys, texts)
        print(p["id"], " ".join(f"{n[:20]}={wall[n][-1]:.2f}" for n in names), flush=True)
    for n in names:
        row = {"config": n, "tag": a.tag, "pages": len(pages), "repeat": a.repeat,
               "wall_p50": round(statistics.median(wall[n]), 3), "wall_mean": round(statistics.mean(wall[n]), 3),
               "wall_min": round(min(wall[n]), 3), "cpu_p50": round(statistics.median(cpu[n]), 3),
               "time": time.strftime("%H:%M:%S")}
        if not a.no_score:
            ids = None if a.pages == "all" else [p["id"] for p in pages]
            row["subset"] = a.pages
            row.update(common.summary(common.score(os.path.join(outdir, safe(n)), a.corpus, page_ids=ids)))
        print(json.dumps(row), flush=True)
        os.makedirs(os.path.join(common.REPO, "bench", "results"), exist_ok=True)
        with open(os.path.join(common.REPO, "bench", "results", "sweep.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")


def safe(n):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in n)[:80]


if __name__ == "__main__":
    main()
