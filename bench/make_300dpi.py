"""A 300-dpi copy of a 150-dpi corpus split, for `make bench` (issue 21: "300-dpi scans").

Every page image scaled 2x (bicubic: the text carries no more detail than its 150-dpi twin, as a
scan of a low-resolution print would) and its ground truth boxes with it; index.json keeps the page
ids, so each page has its twin in the source split. Written under bench/results/ (git-ignored):
the images are generated, never committed. Re-running skips pages whose image already exists.

    .venv/bin/python bench/make_300dpi.py       # ../shared/corpus/public -> bench/results/corpora/public-300dpi
    .venv/bin/python bench/make_300dpi.py --src DIR --dest DIR --factor 2
"""

import argparse
import copy
import json
import os

import cv2

import common

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DEST = os.path.join(HERE, "results", "corpora", "public-300dpi")
BOX_KEYS = ("bbox", "bbox_ink")


def scale_gt(gt, factor):
    """The ground truth of a page scaled by `factor`: boxes, size and dpi."""
    out = copy.deepcopy(gt)
    for key in ("width", "height"):
        if key in out:
            out[key] = round(out[key] * factor)
    if out.get("dpi"):
        out["dpi"] = round(out["dpi"] * factor)
    for line in out.get("lines", []):
        for key in BOX_KEYS:
            if line.get(key):
                line[key] = [v * factor for v in line[key]]
    return out


def make_copy(src, dest, factor):
    with open(os.path.join(src, "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    os.makedirs(os.path.join(dest, "images"), exist_ok=True)
    os.makedirs(os.path.join(dest, "gt"), exist_ok=True)
    made = 0
    for page in index["pages"]:
        image_out = os.path.join(dest, page["image"])
        if not os.path.exists(image_out):
            image = cv2.imread(os.path.join(src, page["image"]), cv2.IMREAD_COLOR)
            if image is None:
                raise SystemExit(f"cannot read {page['image']} in {src}")
            big = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            if not cv2.imwrite(image_out, big):
                raise SystemExit(f"cannot write {image_out}")
            made += 1
        with open(os.path.join(src, page["gt"]), encoding="utf-8") as f:
            gt = scale_gt(json.load(f), factor)
        with open(os.path.join(dest, page["gt"]), "w", encoding="utf-8") as f:
            json.dump(gt, f, ensure_ascii=False)
    index = dict(index, split=f"{index.get('split', 'corpus')}-x{factor:g}", scale_of=os.path.abspath(src))
    with open(os.path.join(dest, "index.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)
    return made, len(index["pages"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=common.DEFAULT_CORPUS, help="source split (default: %(default)s)")
    ap.add_argument("--dest", default=DEFAULT_DEST, help="output split (default: %(default)s)")
    ap.add_argument("--factor", type=float, default=2.0, help="scale factor (default: %(default)s: 150 -> 300 dpi)")
    a = ap.parse_args()
    made, total = make_copy(os.path.abspath(a.src), os.path.abspath(a.dest), a.factor)
    print(f"{a.dest}: {total} pages ({made} images written, the rest already there)")


if __name__ == "__main__":
    main()
