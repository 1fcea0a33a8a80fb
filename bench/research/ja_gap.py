"""Issue 13: why Japanese reads worse here than in RapidOCR on the same PP-OCRv5 mobile weights.

Runs both pipelines on the pages of each corpus, split into four stages, and swaps one stage at a
time, so the row that closes the gap names the stage that holds it:

    boxes   paddlex (the backend's detector: PaddleX, its settings) | rapid (RapidOCR's detector on our ONNX,
            its defaults: mean/std 0.5, unclip 1.6, dilation, box threshold 0.5) | rapid-norm (the same
            with the model's own ImageNet mean/std, as PaddleX normalises)
    crop    paddlex (CropByPolys quad, as engine.py)                 | rapid (get_rotate_crop_image)
    cls     none (the backend's default)                             | rapid (RapidOCR's 0/180 line classifier)
    rec     ours (fast_rec as in the backend: each line at its own width, no padding)
            ours+pad (fast_rec with lines padded to 320 px, as PaddleX and RapidOCR do)
            rapid (RapidOCR's recogniser: 6 lines sorted by ratio, padded to the batch and >= 320 px)

Every row is scored with the corpus' score.py (bench/common.py); a line is kept where its score is
at least 0.5 and its text not blank (both pipelines' defaults). fast_rec reads at --squeeze (1.0 by
default: the squeeze is bench/research/squeeze_table.py's question). Printed per language: score.py's CER
(over matched lines only, the issue's figure), F1, and the end-to-end CER, which also counts missed
and merged lines; a detector that drops hard lines lowers the first, not the last. Accuracy only,
so machine load does not matter. --time N times fast_rec without and with the padding instead.

    PYTHONPATH=bench .venv/bin/python bench/research/ja_gap.py                 # ja of public + degraded
    PYTHONPATH=bench .venv/bin/python bench/research/ja_gap.py --rows crop --langs en,zh,ja --squeeze 0.9
    PYTHONPATH=bench .venv/bin/python bench/research/ja_gap.py --time 2 --langs en,zh,ja --squeeze 0.9
"""

import argparse
import copy
import os
import sys
import tempfile

import cv2
import numpy as np
import yaml

import common

CORPORA = [common.DEFAULT_CORPUS, os.path.join(os.path.dirname(common.DEFAULT_CORPUS), "public-degraded")]
SCORE_THRESHOLD = 0.5
MIN_WIDTH = 320  # rec_image_shape [3, 48, 320] of PaddleX's and RapidOCR's recognisers

# (boxes, crop, cls, rec): the two pipelines first, then one stage of ours swapped for RapidOCR's.
ROWS = [
    ("paddlex", "paddlex", "none", "ours"),  # the backend
    ("rapid", "rapid", "rapid", "rapid"),  # RapidOCR on our weights
    ("rapid", "paddlex", "none", "ours"),  # RapidOCR's boxes only
    ("paddlex", "rapid", "none", "ours"),  # RapidOCR's crop only
    ("paddlex", "paddlex", "rapid", "ours"),  # RapidOCR's line classifier only
    ("paddlex", "paddlex", "none", "rapid"),  # RapidOCR's recogniser only
    ("rapid", "rapid", "rapid", "ours"),  # RapidOCR but our recogniser
    ("rapid", "rapid", "none", "rapid"),  # RapidOCR without its classifier
    ("paddlex", "paddlex", "none", "ours+pad"),  # the backend with padding
    ("rapid", "rapid", "rapid", "ours+pad"),
    ("rapid-norm", "paddlex", "none", "ours"),  # RapidOCR's boxes, with the detector's own normalisation
]
ROW_SETS = {
    "all": ROWS,
    "main": [ROWS[0], ROWS[1], ROWS[5], ROWS[8]],
    "pad": [ROWS[0], ROWS[8]],
    "boxes": ROWS[:3],
    "crop": [ROWS[0], ROWS[3]],
    "det": ROWS[:1] + ROWS[2:3] + ROWS[-1:],
}


def padded_recognizer(rec_dir, squeeze):
    """fast_rec with the minimum input width of PaddleX's and RapidOCR's recognisers: a line narrower
    than 320 px is padded on the right with 0 (after normalisation, as they do)."""
    from ocr_backend.ocr.fast_rec import ParallelRecognizer

    class Padded(ParallelRecognizer):
        def _prepare(self, crop):
            x = super()._prepare(crop)
            if x.shape[3] >= MIN_WIDTH:
                return x
            out = np.zeros(x.shape[:3] + (MIN_WIDTH,), dtype=np.float32)
            out[..., : x.shape[3]] = x
            return out

    return Padded(rec_dir, threads=2, squeeze=squeeze)


def build_rapid(models, det_norm=False):
    from rapidocr import RapidOCR

    rec_dir = os.path.join(models, "PP-OCRv5_mobile_rec")
    with open(os.path.join(rec_dir, "inference.yml"), encoding="utf-8") as f:
        characters = yaml.safe_load(f)["PostProcess"]["character_dict"]
    keys = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
    keys.write("\n".join(characters) + "\n")
    keys.close()
    params = {}
    if det_norm:  # the detector's own normalisation (ImageNet mean/std) instead of RapidOCR's 0.5/0.5
        with open(os.path.join(models, "PP-OCRv5_mobile_det", "inference.yml"), encoding="utf-8") as f:
            ops = yaml.safe_load(f)["PreProcess"]["transform_ops"]
        norm = next(op["NormalizeImage"] for op in ops if "NormalizeImage" in op)
        params = {"Det.mean": list(norm["mean"]), "Det.std": list(norm["std"])}
    return RapidOCR(
        params={
            **params,
            "Global.log_level": "error",
            "Det.model_path": os.path.join(models, "PP-OCRv5_mobile_det", "inference.onnx"),
            "Rec.model_path": os.path.join(rec_dir, "inference.onnx"),
            "Rec.rec_keys_path": keys.name,
            "EngineConfig.onnxruntime.intra_op_num_threads": 2,
        }
    )


class Stages:
    def __init__(self, models, squeeze=1.0):
        from paddlex.inference.pipelines.components import CropByPolys

        from ocr_backend.ocr.engine import OcrEngine
        from ocr_backend.ocr.fast_rec import ParallelRecognizer
        from ocr_backend.settings import Settings

        self.engine = OcrEngine(Settings.from_env({"MODEL_DIR": models, "OCR_LANG": "ch"}))
        self.rapid = build_rapid(models)
        self.rapid_norm = build_rapid(models, det_norm=True)
        self.squeeze = squeeze
        self._crop = CropByPolys(det_box_type="quad")
        self.recognizers = {
            "ours": ParallelRecognizer(self.engine.rec_dir, threads=2, squeeze=squeeze),
            "ours+pad": padded_recognizer(self.engine.rec_dir, squeeze),
        }

    def boxes(self, kind, image):
        if kind == "paddlex":
            return [np.array(p, dtype=np.float32) for p in self.engine.detect(image)]
        rapid = self.rapid_norm if kind == "rapid-norm" else self.rapid
        det = rapid._load_det_model()(image)  # page sizes need none of RapidOCR's pre-resizing
        return [] if det.boxes is None else [np.array(b, dtype=np.float32) for b in det.boxes]

    def crops(self, kind, image, boxes):
        from rapidocr.utils.process_img import get_rotate_crop_image

        if not boxes:
            return []
        if kind == "paddlex":
            return self._crop(image, boxes)
        return [get_rotate_crop_image(image, copy.deepcopy(b)) for b in boxes]

    def classify(self, kind, crops):
        if kind == "none" or not crops:
            return crops
        return list(self.rapid._load_cls_model()(crops).img_list)

    def read(self, kind, crops):
        if not crops:
            return []
        if kind == "rapid":
            from rapidocr.ch_ppocr_rec import TextRecInput

            out = self.rapid._load_rec_model()(TextRecInput(img=crops))
            return list(zip(out.txts, out.scores))
        return self.recognizers[kind].recognize(crops)


def run(stages, corpora, langs, rows, per_lang):
    table = {}
    for corpus in corpora:
        name = os.path.basename(os.path.normpath(corpus))
        pages = [p for p in common.load_index(corpus) if p["lang"] in langs]
        pages = sorted(pages, key=lambda p: (p["lang"], p["id"]))
        if per_lang:
            pages = [p for lang in langs for p in [q for q in pages if q["lang"] == lang][:per_lang]]
        preds = {row: tempfile.mkdtemp(prefix="ja_gap_") for row in rows}
        for page in pages:
            image = cv2.imread(os.path.join(corpus, page["image"]))
            cache = {}
            for row in rows:
                b, c, k, r = row
                if (b,) not in cache:
                    cache[(b,)] = stages.boxes(b, image)
                boxes = cache[(b,)]
                if (b, c) not in cache:
                    cache[(b, c)] = [x for x in stages.crops(c, image, boxes)]
                if (b, c, k) not in cache:
                    cache[(b, c, k)] = stages.classify(k, cache[(b, c)])
                reads = stages.read(r, cache[(b, c, k)])
                keep = [
                    (box, text)
                    for box, crop, (text, score) in zip(boxes, cache[(b, c)], reads)
                    if crop.size > 0 and score >= SCORE_THRESHOLD and text.strip()
                ]
                common.write_preds(preds[row], page["id"], [p.tolist() for p, _ in keep], [t for _, t in keep])
            print(f"  {name} {page['id']}", file=sys.stderr, flush=True)
        ids = [p["id"] for p in pages]
        table[name] = {row: common.score(preds[row], corpus, page_ids=ids) for row in rows}
        print_table({name: table[name]}, langs)
    return table


def print_table(table, langs):
    """Per language: CER over matched lines (score.py's CER, the issue's figure), F1, and end-to-end
    CER (whole page in reading order: also counts missed and spurious text, so a detector that drops
    hard lines cannot look better by it)."""
    for name, rows in table.items():
        print(f"\n### {name}\n")
        heads = [f"{k} {lang}" for lang in langs for k in ("CER", "F1", "e2e CER")]
        print("| boxes | crop | cls | rec | " + " | ".join(heads) + " |")
        print("| --- | --- | --- | --- | " + " | ".join("---" for _ in heads) + " |")
        for row, rep in rows.items():
            cells = []
            for lang in langs:
                got = rep["by_lang"].get(lang)
                if not got:
                    cells += ["-"] * 3
                    continue
                cells += [f"{100 * got['cer']:.2f} %", f"{got['f1']:.3f}", f"{100 * got['e2e_cer']:.2f} %"]
            print("| " + " | ".join(row) + " | " + " | ".join(cells) + " |")


def time_padding(stages, corpus, langs, rounds, per_lang=0):
    """Recognition time of every line of the pages without and with the minimum width, in turn (A B B A
    per round so drift hits both alike): wall and process CPU seconds, and their ratios."""
    import time

    pages = sorted((p for p in common.load_index(corpus) if p["lang"] in langs), key=lambda p: p["id"])
    if per_lang:
        pages = [p for lang in langs for p in [q for q in pages if q["lang"] == lang][:per_lang]]
    crops = []
    for page in pages:
        image = cv2.imread(os.path.join(corpus, page["image"]))
        crops.append([c for c in stages.crops("paddlex", image, stages.boxes("paddlex", image)) if c.size > 0])
    narrow = sum(c.shape[1] / c.shape[0] * 48 * stages.squeeze < 320 for page in crops for c in page)
    total = sum(len(page) for page in crops)
    head = f"{len(pages)} pages ({','.join(langs)}), {total} lines"
    print(f"\n{head}, {narrow} narrower than 320 px at squeeze {stages.squeeze}")
    spent = {k: [0.0, 0.0] for k in ("ours", "ours+pad")}
    for r in range(rounds):
        order = ["ours", "ours+pad"] if r % 2 == 0 else ["ours+pad", "ours"]
        for kind in order:
            wall, cpu = time.perf_counter(), time.process_time()
            for page in crops:
                stages.recognizers[kind].recognize(page)
            spent[kind][0] += time.perf_counter() - wall
            spent[kind][1] += time.process_time() - cpu
    for kind, (wall, cpu) in spent.items():
        print(f"  {kind:9s} wall {wall / rounds:.2f} s  cpu {cpu / rounds:.2f} s per pass")
    print(
        f"  padded / unpadded: wall {spent['ours+pad'][0] / spent['ours'][0]:.3f}x,"
        f" cpu {spent['ours+pad'][1] / spent['ours'][1]:.3f}x"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", help="corpus folder (repeatable; default public + degraded)")
    ap.add_argument("--langs", default="ja")
    ap.add_argument(
        "--rows",
        choices=sorted(ROW_SETS),
        default="all",
        help="which rows of ROWS (all: every one)",
    )
    ap.add_argument(
        "--squeeze", type=float, default=1.0, help="fast_rec's width squeeze (the backend's default is 0.9)"
    )
    ap.add_argument("--time", type=int, default=0, help="N: time recognition without/with padding, N rounds")
    ap.add_argument("--pages-per-lang", type=int, default=0, help="0: every page")
    args = ap.parse_args()
    common.set_paddlex_env()
    langs = args.langs.split(",")
    stages = Stages(common.MODELS, args.squeeze)
    if args.time:
        time_padding(stages, (args.corpus or CORPORA)[0], langs, args.time, args.pages_per_lang)
        return
    run(stages, args.corpus or CORPORA, langs, ROW_SETS[args.rows], args.pages_per_lang)


if __name__ == "__main__":
    main()
