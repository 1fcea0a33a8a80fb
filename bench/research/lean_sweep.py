"""Accuracy + CPU-time sweep of lean-pipeline variants over the whole corpus.

Detection variants run once per page (polys cached in memory); each recognition variant then runs
on the crops of the chosen detection variant.  CPU seconds (process_time) are reported because the
shared machine makes wall time meaningless; run with --threads 1 for a clean CPU measure.

PYTHONPATH=bench python bench/research/lean_sweep.py --det full,max1280 --rec bs1,qdq --pairs full:bs1,full:qdq,max1280:bs1
"""
import argparse
import json
import os
import statistics
import time

import common

DET = {
    "full": {},
    "max1536": dict(limit_side_len=1536, limit_type="max"),
    "max1280": dict(limit_side_len=1280, limit_type="max"),
    "max1152": dict(limit_side_len=1152, limit_type="max"),
    "max1024": dict(limit_side_len=1024, limit_type="max"),
    "max960": dict(limit_side_len=960, limit_type="max"),
    "full_qdq": dict(det_model="/tmp/q/det_qdq.onnx"),
    "max1280_qdq": dict(limit_side_len=1280, limit_type="max", det_model="/tmp/q/det_qdq.onnx"),
}
REC = {
    "bs1": dict(rec_batch=1),
    "bs6": dict(rec_batch=6),
    "bucket": dict(rec_batch="bucket"),
    "sq0.85": dict(rec_batch=1, squeeze=0.85),
    "sq0.75": dict(rec_batch=1, squeeze=0.75),
    "sq0.6": dict(rec_batch=1, squeeze=0.6),
    "qdq": dict(rec_batch=1, rec_model="/tmp/q/rec_qdq.onnx"),
    "qdq_sq0.85": dict(rec_batch=1, squeeze=0.85, rec_model="/tmp/q/rec_qdq.onnx"),
    "sq0.7": dict(rec_batch=1, squeeze=0.7),
    "sq0.65": dict(rec_batch=1, squeeze=0.65),
    "qdqc": dict(rec_batch=1, rec_model="/tmp/q/rec_qdqc.onnx"),
    "qdqc_sq0.75": dict(rec_batch=1, squeeze=0.75, rec_model="/tmp/q/rec_qdqc.onnx"),
    "qdq_sq0.75": dict(rec_batch=1, squeeze=0.75, rec_model="/tmp/q/rec_qdq.onnx"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--det", default="full")
    ap.add_argument("--rec", default="bs1")
    ap.add_argument("--pairs", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pages", default="all")
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    common.set_paddlex_env(a.threads)
    import cv2
    import lean
    dets = a.det.split(",")
    recs = a.rec.split(",")
    pairs = [tuple(p.split(":")) for p in a.pairs.split(",")] if a.pairs else \
        [(d, r) for d in dets for r in recs]
    det_eng = {d: lean.LeanOCR(threads=a.threads, **DET[d]) for d in dets}
    rec_eng = {r: lean.LeanOCR(threads=a.threads, **REC[r]) for r in recs}
    pages = common.load_index()
    if a.pages != "all":
        langs = a.pages.split(",")
        pages = [p for p in pages if p["lang"] in langs or p["id"] in langs]
    dcpu = {d: [] for d in dets}
    pcpu = {p: [] for p in pairs}
    outroot = os.path.join(common.REPO, "bench", "results", "preds")
    for pg in pages:
        img = cv2.imread(os.path.join(common.DEFAULT_CORPUS, pg["image"]))
        crops = {}
        for d in dets:
            c0 = time.process_time()
            polys = det_eng[d].detect(img)
            cr = list(det_eng[d].crop(img, polys)) if len(polys) else []
            keep = [(p, c) for p, c in zip(polys, cr) if c.size > 0]
            dcpu[d].append(time.process_time() - c0)
            crops[d] = keep
        for d, r in pairs:
            keep = crops[d]
            c0 = time.process_time()
            res = rec_eng[r].recognize([c for _, c in keep]) if keep else []
            pcpu[(d, r)].append(dcpu[d][-1] + time.process_time() - c0)
            common.write_preds(os.path.join(outroot, f"lean_{d}_{r}"), pg["id"],
                               [p for p, _ in keep], [t for t, _ in res])
        print(pg["id"], " ".join(f"{d}:{r}={pcpu[(d, r)][-1]:.2f}" for d, r in pairs), flush=True)
    for d, r in pairs:
        row = {"config": f"lean {d}:{r}", "tag": a.tag, "threads": a.threads, "pages": len(pages),
               "cpu_p50": round(statistics.median(pcpu[(d, r)]), 3),
               "cpu_mean": round(statistics.mean(pcpu[(d, r)]), 3),
               "det_cpu_p50": round(statistics.median(dcpu[d]), 3), "time": time.strftime("%H:%M:%S")}
        ids = None if a.pages == "all" else [p["id"] for p in pages]
        row["subset"] = a.pages
        row.update(common.summary(common.score(os.path.join(outroot, f"lean_{d}_{r}"), page_ids=ids)))
        print(json.dumps(row), flush=True)
        with open(os.path.join(common.REPO, "bench", "results", "sweep.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
