"""Where does the time go? det vs rec, pre/infer/post, on a few corpus pages.

PYTHONPATH=bench python bench/research/profile_stages.py --engine onnxruntime --pages 4 [--cprofile]
"""
import argparse
import cProfile
import os
import pstats
import time

import common


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="onnxruntime")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--langs", default="en,zh")
    ap.add_argument("--cprofile", action="store_true")
    a = ap.parse_args()
    common.set_paddlex_env(a.threads)
    import cv2
    import numpy as np
    from paddlex import create_pipeline

    ec = {"intra_op_num_threads": a.threads} if a.engine == "onnxruntime" else {"run_mode": "mkldnn", "cpu_threads": a.threads}
    t0 = time.perf_counter()
    pipe = create_pipeline(config=common.ocr_config(), device="cpu", engine=a.engine, engine_config=ec)
    print(f"build {time.perf_counter() - t0:.2f}s")
    pages = [p for p in common.load_index() if p["lang"] in a.langs.split(",")][: a.pages]
    imgs = [cv2.imread(os.path.join(common.DEFAULT_CORPUS, p["image"])) for p in pages]
    list(pipe.predict(imgs[0]))  # warm-up
    det, rec = pipe.text_det_model, pipe.text_rec_model
    prof = cProfile.Profile() if a.cprofile else None
    for p, img in zip(pages, imgs):
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        res = list(pipe.predict(img))[0]
        if prof:
            prof.disable()
        t_total = time.perf_counter() - t0
        t0 = time.perf_counter()
        d = list(det([img]))[0]
        t_det = time.perf_counter() - t0
        polys = pipe._sort_boxes(d["dt_polys"])
        t0 = time.perf_counter()
        crops = list(pipe._crop_by_polys(img, polys))
        t_crop = time.perf_counter() - t0
        crops_sorted = sorted(crops, key=lambda c: c.shape[1] / c.shape[0])
        t0 = time.perf_counter()
        r = list(rec(crops_sorted))
        t_rec = time.perf_counter() - t0
        widths = [int(48 * c.shape[1] / c.shape[0]) for c in crops_sorted]
        print(f"{p['id']:40s} {img.shape[1]}x{img.shape[0]} lines={len(polys):3d} total={t_total:.2f}s "
              f"det={t_det:.2f} crop={t_crop:.3f} rec={t_rec:.2f} rec_w(med/max)={int(np.median(widths))}/{max(widths)}")
    if prof:
        st = pstats.Stats(prof)
        st.sort_stats("cumulative").print_stats(40)
        st.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
