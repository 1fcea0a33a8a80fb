"""Rec-stage micro-benchmark on real crops: CPU seconds (process_time) and wall per page,
variants interleaved. PYTHONPATH=bench python bench/research/rec_micro.py --pages 3 --threads 1"""
import argparse, os, time, statistics
import common
common.set_paddlex_env(2)
import cv2, lean

VARIANTS = {
    "bs1": dict(rec_batch=1),
    "bs6": dict(rec_batch=6),
    "bucket64x8": dict(rec_batch="bucket", rec_bucket_px=64, rec_max_batch=8),
    "bucket32x4": dict(rec_batch="bucket", rec_bucket_px=32, rec_max_batch=4),
    "bs1_noargmax": dict(rec_batch=1, argmax_in_graph=False),
    "bs1_sq0.75": dict(rec_batch=1, squeeze=0.75),
    "bs1_sq0.6": dict(rec_batch=1, squeeze=0.6),
    "bs1_dyn": dict(rec_batch=1, rec_model="/tmp/q/rec_dyn.onnx"),
    "bs1_qdq": dict(rec_batch=1, rec_model="/tmp/q/rec_qdq.onnx"),
}
ap = argparse.ArgumentParser()
ap.add_argument("--pages", default="en_caption_p001,zh_ctex_p010,ru_lshort-russian_p020")
ap.add_argument("--variants", default="bs1,bs6,bucket64x8,bs1_noargmax")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeat", type=int, default=3)
a = ap.parse_args()
idx = common.load_index()
ids = a.pages.split(",")
pages = [p for p in idx if p["id"] in ids] or idx[: int(a.pages)]
names = a.variants.split(",")
eng = {n: lean.LeanOCR(threads=a.threads, **VARIANTS[n]) for n in names}
base = eng[names[0]]
crops = []
for p in pages:
    img = cv2.imread(os.path.join(common.DEFAULT_CORPUS, p["image"]))
    polys = base.detect(img)
    crops.append([c for c in base.crop(img, polys) if c.size > 0])
print("lines per page", [len(c) for c in crops], flush=True)
cpu = {n: [] for n in names}; wall = {n: [] for n in names}
for n in names: eng[n].recognize(crops[0][:4])
for r in range(a.repeat):
    for cs in crops:
        for n in (names if r % 2 == 0 else names[::-1]):
            t0, c0 = time.perf_counter(), time.process_time()
            eng[n].recognize(cs)
            wall[n].append(time.perf_counter() - t0); cpu[n].append(time.process_time() - c0)
ref = [t for t, _ in base.recognize(crops[0])]
for n in names:
    got = [t for t, _ in eng[n].recognize(crops[0])]
    same = sum(x == y for x, y in zip(ref, got))
    print(f"{n:14s} cpu/page med {statistics.median(cpu[n]):.2f}s min {min(cpu[n]):.2f}  wall med {statistics.median(wall[n]):.2f} min {min(wall[n]):.2f}  same_text_p1 {same}/{len(ref)}", flush=True)
