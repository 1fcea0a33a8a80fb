"""Two recognisers on the detector's lines: how to combine PP-OCRv5 mobile and PP-OCRv6 small.

Issue 21 item 3 (docs/speed.md, "Two recognisers"). The backend's detector cuts the lines of the
en/zh/ja pages of each corpus (as the engine does, DET_AUTO_SCALE included); every line is read once
by each recogniser (fast_rec, squeeze 0.9: v5 with the blurred-line decoding at 2.9, v6 plain), and
the readings are then combined offline by each rule below, so every rule sees the same readings:

    v5            the main recogniser alone (before REC_SECOND_MODEL)
    v6            PP-OCRv6 small alone
    max, blurred  lines under the sharpness threshold: the reading with the higher score (text and score)
    v5 keeps, all every line: the text of the surer reading, the score (what SCORE_THRESHOLD keeps) v5's
    v6 first@S    v6 reads every line; where its score is under S, v5 too, then as "v5 keeps, all"
                  (fast_rec.ParallelRecognizer.read_line with SURE = S, before the two rules below)
    +kana         v6 first@SURE, and a v6 reading with kana from KANA_SURE on taken as it is
    +kana+dropped +kana, and v6's surer text not taken where it has under DROPPED times v5's non-space
                  characters
    +sparse       +kana+dropped, and a sure v6 reading with under SPARSE non-space characters per line
                  height (the detected box's width over its height) asks v5 all the same: read_line now

Printed: score.py's F1 @ IoU 0.5 / CER of matched lines per corpus and language for each rule, how
many lines each v6-first rule asks v5 about, and the seconds each recogniser took for all lines
(one after the other, not in turn: see make bench's in-turn ratios for time). --cached re-scores
the readings of the last run (bench/results/two_readers.pkl).

    PYTHONPATH=ppocr_v5:bench nice .venv/bin/python bench/research/two_readers.py
    PYTHONPATH=ppocr_v5:bench .venv/bin/python bench/research/two_readers.py --cached --sure 0.97,0.98,0.99

The other languages' lines (the dropped-characters rule: Cyrillic read as blanks) were read the same
way with `--langs ar,bg,el,fa,hi,ko,ru,ta,te,th,uk` (the pickle holds the last run's languages).
"""

import argparse
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_rec  # noqa: E402  (detected lines and score.py's scoring, as scan_rec --det uses them)

from ocr_backend.core.geometry import min_area_rect  # noqa: E402
from ocr_backend.ocr.fast_rec import DROPPED, KANA, KANA_SURE, SPARSE, SURE, ParallelRecognizer, sharpness  # noqa: E402

OUT = os.path.join(scan_rec.REPO, "bench", "results", "two_readers.pkl")


def read_all(corpora, langs, threshold):
    v5 = ParallelRecognizer(os.path.join(scan_rec.MODELS, "PP-OCRv5_mobile_rec"), 2, 0.9, sharpness_threshold=threshold)
    v6 = ParallelRecognizer(os.path.join(scan_rec.MODELS, "PP-OCRv6_small_rec"), 2, 0.9)
    out = {}
    for corpus in corpora:
        lines = scan_rec.det_crops(os.path.join(scan_rec.CORPUS_ROOT, corpus), langs, 0)
        crops = [line[4] for line in lines]
        t = time.time()
        r5 = v5.recognize(crops)
        t5 = time.time() - t
        t = time.time()
        r6 = v6.recognize(crops)
        t6 = time.time() - t
        print(f"{corpus}: {len(crops)} lines, v5 {t5:.1f} s, v6 {t6:.1f} s", flush=True)
        out[corpus] = dict(meta=[line[:4] for line in lines], r5=r5, r6=r6, sharp=[sharpness(c) for c in crops])
    return out


def rules(r, threshold, sures):
    n = len(r["r5"])
    r5, r6 = r["r5"], r["r6"]

    def surer_text(i):
        return (r6[i][0] if r6[i][1] > r5[i][1] else r5[i][0], r5[i][1])

    out = {
        "v5": r5,
        "v6": r6,
        "max, blurred": [
            max(r5[i], r6[i], key=lambda x: x[1]) if r["sharp"][i] < threshold else r5[i] for i in range(n)
        ],
        "v5 keeps, all": [surer_text(i) for i in range(n)],
    }
    for sure in sures:
        out[f"v6 first@{sure:g}"] = [r6[i] if r6[i][1] >= sure else surer_text(i) for i in range(n)]

    def inked(text):
        return len(text) - text.count(" ")

    def kana_sure(i):
        return r6[i][1] >= SURE or (r6[i][1] >= KANA_SURE and KANA.search(r6[i][0]) is not None)

    out["+kana"] = [r6[i] if kana_sure(i) else surer_text(i) for i in range(n)]
    def dropped_rule(i, sure):
        if sure(i):
            return r6[i]
        return surer_text(i) if inked(r6[i][0]) >= DROPPED * inked(r5[i][0]) else r5[i]

    def not_sparse(i):
        return inked(r6[i][0]) >= SPARSE * _aspect(r["meta"][i][1])

    out["+kana+dropped"] = [dropped_rule(i, kana_sure) for i in range(n)]
    out["+sparse (now)"] = [dropped_rule(i, lambda j: kana_sure(j) and not_sparse(j)) for i in range(n)]
    return out


def _aspect(poly):
    """The width over the height of the crop read_line sees for a detected line: its smallest
    rotated rectangle, turned upright where it stands 1.5x taller than wide (as PaddleX's crop does)."""
    _, width, height, _ = min_area_rect(poly)
    if height >= 1.5 * width:
        width, height = height, width
    return width / max(height, 1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default="public,public-degraded")
    ap.add_argument("--langs", default="en,zh,ja")
    ap.add_argument("--threshold", type=float, default=2.9, help="REC_SHARPNESS_THRESHOLD")
    ap.add_argument("--sure", default="0.9,0.95,0.97,0.98,0.99")
    ap.add_argument("--cached", action="store_true")
    args = ap.parse_args()
    if args.cached:
        with open(OUT, "rb") as f:
            reads = pickle.load(f)
    else:
        reads = read_all(args.corpora.split(","), args.langs.split(","), args.threshold)
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "wb") as f:
            pickle.dump(reads, f)
    sures = [float(s) for s in args.sure.split(",")]
    for corpus, r in reads.items():
        combined = rules(r, args.threshold, sures)
        asked = [f"@{s:g}: {sum(score < s for _, score in r['r6'])}" for s in sures]
        print(f"\n{corpus}: {len(r['r5'])} lines; v5 asked about " + ", ".join(asked))
        print("| corpus | lang | " + " | ".join(combined) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in combined) + " |")
        lines = [tuple(m) + (None,) for m in r["meta"]]
        scan_rec.score_det(os.path.join(scan_rec.CORPUS_ROOT, corpus), lines, combined, list(combined))


if __name__ == "__main__":
    main()
