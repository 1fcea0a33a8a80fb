"""Why scanned lines read worse than clean ones: recognition alone, on crops cut from the GT boxes.

Issue 21 item 3 (docs/speed.md, "Recognition on scans"). Detection is taken out: every care line of
the en/zh/ja pages is cut from its ground-truth box (`quad` where the page is turned, else `bbox`,
widened by --margin of the line height on each side, as the detector's unclipped boxes are) and read
by fast_rec's ParallelRecognizer under each configuration in --configs:

    v5      PP-OCRv5_mobile_rec (the default), v6: PP-OCRv6_small_rec
    @S      width squeeze S (default 0.9)
    +usm    unsharp mask before the resize       +stretch  contrast stretch (1st..99th percentile)
    +cubic  cubic interpolation in the resize    +gray     grey crop (paper colour removed)
    +blankK CTC blank (and space) probability times K before the greedy decoding (K < 1: fewer
            dropped characters); +underT: only on crops less sharp than T
    +sharpS squeeze S only on sharp crops, full width on blurred ones (--sharp-threshold)

CER is score.py's (NFC, whitespace collapsed, edits / GT characters) over the lines, per corpus and
language, so it equals score.py's matched-line CER with perfect boxes. The line-by-line part pairs
each scanned line with its clean twin (the same page and line id) and says how the extra edits are
spread: the share of the top 10 % of lines, vertical lines, lines read in the wrong script.
--time N reads every crop N rounds per configuration, in turn (A B A B), and prints CPU and wall
seconds per round relative to the first configuration.

    nice -n 10 .venv/bin/python bench/research/scan_rec.py                      # the default set
    nice -n 10 .venv/bin/python bench/research/scan_rec.py --configs v5@0.9,v6@0.9 --time 2
"""

import argparse
import json
import os
import statistics
import sys
import time
import unicodedata

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS_ROOT = os.path.normpath(os.path.join(REPO, "..", "shared", "corpus"))
MODELS = os.environ.get("MODEL_DIR") or os.path.join(REPO, "models")
REC_DIRS = {"v5": "PP-OCRv5_mobile_rec", "v6": "PP-OCRv6_small_rec"}
sys.path.insert(0, os.path.join(REPO, "ppocr_v5"))
sys.path.insert(0, CORPUS_ROOT)

import score  # noqa: E402  (the corpus' own scorer: its normalisation and edit distance)

from ocr_backend.ocr.fast_rec import sharpness  # noqa: E402

DEFAULT_CONFIGS = "v5@0.9,v5@1.0,v5@0.9+usm,v5@0.9+stretch,v5@0.9+cubic,v5@0.9+gray,v6@0.9,v6@1.0"


def chosen_pages(corpus, langs, per_lang):
    """(lang, index entry) of the corpus's pages in `langs`, language by language, by id; at most
    `per_lang` of each (0: all)."""
    with open(os.path.join(corpus, "index.json"), encoding="utf-8") as f:
        pages = [p for p in json.load(f)["pages"] if p["lang"] in langs]
    for lang in langs:
        chosen = sorted((p for p in pages if p["lang"] == lang), key=lambda p: p["id"])
        for page in chosen[:per_lang] if per_lang else chosen:
            yield lang, page


def gt_crops(corpus, langs, margin, per_lang):
    """[(page id, line id, lang, crop)] for the care lines of the pages in `langs`."""
    from ocr_backend.images.crops import crop_quad

    out = []
    for lang, page in chosen_pages(corpus, langs, per_lang):
        image = cv2.imread(os.path.join(corpus, page["image"]))
        with open(os.path.join(corpus, page["gt"]), encoding="utf-8") as f:
            gt = json.load(f)
        for line in gt["lines"]:
            if line.get("ignore"):
                continue
            quad = line.get("quad")
            if quad is None:
                x0, y0, x1, y1 = line["bbox"]
                quad = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            quad = np.asarray(quad, dtype=np.float64)
            h = max(np.hypot(*(quad[3] - quad[0])), 1.0)
            along = (quad[1] - quad[0]) / max(np.hypot(*(quad[1] - quad[0])), 1e-9)
            across = (quad[3] - quad[0]) / h
            d, n = margin * h * along, margin * h * across
            grown = [quad[0] - d - n, quad[1] + d - n, quad[2] + d + n, quad[3] - d + n]
            crop = crop_quad(image, [tuple(p) for p in grown]).image
            if min(crop.shape[:2]) >= 2:
                out.append((page["id"], line["id"], lang, line["text"], crop))
    return out


def det_crops(corpus, langs, per_lang):
    """[(page id, polygon, lang, None, crop)] from the backend's detector and PaddleX's crops (as
    page_reading.py cuts them), for --det: the pipeline's own lines, scored by score.py."""
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.ocr.page_reading import detect_and_crop
    from ocr_backend.settings import Settings

    engine = OcrEngine(Settings.from_env({"MODEL_DIR": MODELS, "OCR_LANG": "ch"}))
    out = []
    for lang, page in chosen_pages(corpus, langs, per_lang):
        image = cv2.imread(os.path.join(corpus, page["image"]))
        polys, crops = detect_and_crop(engine.detect, image)
        out += [(page["id"], [tuple(map(float, q)) for q in poly], lang, None, c) for poly, c in zip(polys, crops)]
    return out


def score_det(corpus, crops, reads, configs, threshold=0.5):
    """score.py's F1 and matched-line CER per language for each configuration's readings."""
    import tempfile

    sys.path.insert(0, os.path.join(REPO, "bench"))
    import common

    page_ids = sorted({c[0] for c in crops})
    rows = {}
    for cfg in configs:
        pred = tempfile.mkdtemp(prefix="scan_rec_")
        for page_id in page_ids:
            mine = [(c[1], reads[cfg][i]) for i, c in enumerate(crops) if c[0] == page_id]
            kept = [(poly, text) for poly, (text, s) in mine if s >= threshold]
            common.write_preds(pred, page_id, [p for p, _ in kept], [t for _, t in kept])
        rep = common.score(pred, corpus, page_ids=page_ids)
        rows[cfg] = {lang: (v["f1"], v["cer"]) for lang, v in rep["by_lang"].items()}
    name = os.path.basename(corpus)
    for lang in sorted(next(iter(rows.values()))):
        cells = [f"{rows[c][lang][0]:.3f} / {100 * rows[c][lang][1]:.2f} %" for c in configs]
        print(f"| {name} (detected) | {lang} | " + " | ".join(cells) + " |")


def unsharp(crop, amount=1.0, sigma=1.0):
    blur = cv2.GaussianBlur(crop, (0, 0), sigma)
    return cv2.addWeighted(crop, 1 + amount, blur, -amount, 0)


def stretch(crop):
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    lo, hi = np.percentile(gray, (1, 99))
    if hi - lo < 16:
        return crop
    return np.clip((crop.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def to_gray(crop):
    return cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def make_reader(spec, recognizers, sharp_threshold):
    """spec "v5@0.9+usm+cubic" -> read(crops) -> [(text, score)]"""
    head, *extras = spec.split("+")
    model, squeeze = head.split("@") if "@" in head else (head, "0.9")
    rec = recognizers[model]
    squeeze = float(squeeze)
    steps = []
    interpolation = cv2.INTER_LINEAR
    sharp_squeeze = None
    blank = 1.0
    blank_below = 99.0  # sharpness under which the blank scaling applies (+underT)
    for extra in extras:
        if extra == "usm":
            steps.append(unsharp)
        elif extra.startswith("usm"):
            steps.append(lambda c, a=float(extra[3:]): unsharp(c, a))
        elif extra == "stretch":
            steps.append(stretch)
        elif extra == "gray":
            steps.append(to_gray)
        elif extra == "cubic":
            interpolation = cv2.INTER_CUBIC
        elif extra == "area":
            interpolation = cv2.INTER_AREA
        elif extra.startswith("blank"):
            blank = float(extra[5:])
        elif extra.startswith("under"):
            blank_below = float(extra[5:])
        elif extra.startswith("sharp"):
            sharp_squeeze = float(extra[5:])
        else:
            raise SystemExit(f"unknown step {extra!r} in {spec!r}")

    def prepare(crop):
        for step in steps:
            crop = step(crop)
        s = squeeze
        if sharp_squeeze is not None and sharpness(crop) >= sharp_threshold:
            s = sharp_squeeze
        h, w = crop.shape[:2]
        width = min(3200, max(8, int(np.ceil(48 * w / float(h) * s))))
        x = cv2.resize(crop, (width, 48), interpolation=interpolation).astype(np.float32)
        x *= 2.0 / 255.0
        x -= 1.0
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def one(crop):
        probs = rec.infer(prepare(crop))[0]
        if blank == 1.0 or sharpness(crop) >= blank_below:
            return rec._decode(probs)
        # fast_rec's blurred-line decoding with this scale in place of BLURRED_GAP_SCALE
        chooser = probs.copy()
        chooser[:, rec._gaps] *= blank
        ids = chooser.argmax(axis=1)  # the score stays the plain decoding's, as in fast_rec
        keep = np.ones(len(ids), dtype=bool)
        keep[1:] = ids[1:] != ids[:-1]
        keep &= ids != 0
        return "".join(rec.characters[i] for i in ids[keep]), rec._decode(probs)[1]

    def read(crops):
        futures = [rec._pool.submit(one, c) for c in crops]
        return [f.result() for f in futures]

    return read


def script_of(text):
    """'cjk', 'latin' or '' for the characters that decide a wrong-script reading."""
    cjk = sum(1 for c in text if unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA")))
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return "cjk" if cjk > latin else ("latin" if latin else "")


def cer_table(lines, configs):
    """{(corpus, lang): {config: (edits, chars)}}"""
    table = {}
    for line in lines:
        key = (line["corpus"], line["lang"])
        for cfg in configs:
            e, c = table.setdefault(key, {}).get(cfg, (0, 0))
            table[key][cfg] = (e + line["edits"][cfg], c + line["chars"])
    return table


def print_cer(lines, configs):
    table = cer_table(lines, configs)
    print("\nCER on GT-box crops (score.py's normalisation), per corpus and language:")
    print("| corpus | lang | lines | " + " | ".join(configs) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in configs) + " |")
    for (corpus, lang), row in sorted(table.items()):
        n = sum(1 for ln in lines if ln["corpus"] == corpus and ln["lang"] == lang)
        cells = [f"{100 * e / max(c, 1):.2f} %" for e, c in (row[cfg] for cfg in configs)]
        print(f"| {corpus} | {lang} | {n} | " + " | ".join(cells) + " |")


def line_by_line(lines, clean, scan, cfg, show):
    """How the scanned corpus' extra edits are spread over its lines (twins by page and line id)."""
    twins = {(ln["page"], ln["id"]): ln for ln in lines if ln["corpus"] == clean}
    print(f"\nLine by line, {scan} against {clean}, {cfg}:")
    for lang in ("en", "zh", "ja"):
        pairs = [
            (ln, twins[(ln["page"], ln["id"])])
            for ln in lines
            if ln["corpus"] == scan and ln["lang"] == lang and (ln["page"], ln["id"]) in twins
        ]
        if not pairs:
            continue
        extra = [(s["edits"][cfg] - c["edits"][cfg], s, c) for s, c in pairs]
        total = sum(x for x, _, _ in extra)
        chars = sum(s["chars"] for s, _ in pairs)
        worse = sorted((x for x in extra if x[0] > 0), key=lambda t: -t[0])
        top = worse[: max(1, len(pairs) // 10)]
        vertical = sum(x for x, s, _ in extra if s["h"] > 1.5 * s["w"])
        wrong = sum(x for x, s, _ in extra if script_of(s["reads"][cfg]) not in ("", script_of(s["text"])))
        lines_worse = len(worse)
        better = sum(1 for x in extra if x[0] < 0)
        print(
            f"  {lang}: {len(pairs)} lines, {chars} chars, extra edits {total} "
            f"({100 * total / max(chars, 1):+.2f} CER points); worse on {lines_worse} lines, better on {better}; "
            f"top 10 % of lines hold {sum(x for x, _, _ in top)} extra edits; vertical lines {vertical}, "
            f"wrong-script readings {wrong}"
        )
        edits_per_line = [x for x, _, _ in extra]
        print(f"      extra edits per line: median {statistics.median(edits_per_line)}, max {max(edits_per_line)}")
        for x, s, c in worse[:show]:
            print(f"      +{x} {s['page']}#{s['id']} h={s['h']} sharp={s['sharp']:.2f}")
            print(f"         gt    {s['text']}")
            print(f"         clean {c['reads'][cfg]}")
            print(f"         scan  {s['reads'][cfg]}")


def sharp_rules(lines, base, full):
    """Squeeze `base` on crops at least this sharp, full width below: CER and width per threshold."""
    print(f"\nSharpness rule: {base} where sharpness >= t, else {full} (width relative to {full}):")
    values = sorted({round(ln["sharp"], 2) for ln in lines})
    thresholds = [values[int(q * (len(values) - 1))] for q in (0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9)] + [99]
    table_keys = sorted({(ln["corpus"], ln["lang"]) for ln in lines})
    print("| t | " + " | ".join(f"{c} {g}" for c, g in table_keys) + " | width |")
    for t in thresholds:
        cells, width, whole = [], 0.0, 0.0
        for key in table_keys:
            sel = [ln for ln in lines if (ln["corpus"], ln["lang"]) == key]
            e = sum(ln["edits"][base if ln["sharp"] >= t else full] for ln in sel)
            c = sum(ln["chars"] for ln in sel)
            cells.append(f"{100 * e / max(c, 1):.2f}")
        for ln in lines:
            width += (0.9 if ln["sharp"] >= t else 1.0) * ln["w"] / ln["h"]
            whole += ln["w"] / ln["h"]
        print(f"| {t} | " + " | ".join(cells) + f" | {width / whole:.3f} |")
    for corpus in sorted({ln["corpus"] for ln in lines}):
        s = [ln["sharp"] for ln in lines if ln["corpus"] == corpus]
        p10, p50, p90 = np.percentile(s, (10, 50, 90))
        print(f"  sharpness {corpus}: p10 {p10:.2f} median {p50:.2f} p90 {p90:.2f}")


def timing(readers, crops, rounds, configs):
    cpu = {c: [] for c in configs}
    wall = {c: [] for c in configs}
    for _ in range(rounds):
        for cfg in configs:
            c0, w0 = time.process_time(), time.perf_counter()
            readers[cfg](crops)
            cpu[cfg].append(time.process_time() - c0)
            wall[cfg].append(time.perf_counter() - w0)
    base = configs[0]
    print(f"\nRecognition time over {len(crops)} crops, {rounds} rounds in turn, load {os.getloadavg()}:")
    for cfg in configs:
        rc = statistics.median(cpu[cfg]) / statistics.median(cpu[base])
        rw = statistics.median(wall[cfg]) / statistics.median(wall[base])
        print(
            f"  {cfg}: CPU {statistics.median(cpu[cfg]):.2f} s ({rc:.2f}x), wall {statistics.median(wall[cfg]):.2f} s "
            f"({rw:.2f}x); rounds CPU {[round(x, 2) for x in cpu[cfg]]}"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default="public,public-degraded,public-photo")
    ap.add_argument("--langs", default="en,zh,ja")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS)
    ap.add_argument("--margin", type=float, default=0.15, help="widen each GT box by this share of its height")
    ap.add_argument("--per-lang", type=int, default=0, help="pages per language (0: all)")
    ap.add_argument("--sharp-threshold", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--show", type=int, default=6, help="worst scanned lines shown per language")
    ap.add_argument("--time", type=int, default=0, help="timing rounds per configuration (0: none)")
    ap.add_argument("--det", action="store_true", help="the detector's lines, not GT boxes: F1 / CER by score.py")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "scan_rec.json"))
    args = ap.parse_args()

    from ocr_backend.ocr.fast_rec import ParallelRecognizer

    configs = args.configs.split(",")
    models = {c.split("+")[0].split("@")[0] for c in configs}
    recognizers = {m: ParallelRecognizer(os.path.join(MODELS, REC_DIRS[m]), args.threads, 1.0) for m in models}
    readers = {c: make_reader(c, recognizers, args.sharp_threshold) for c in configs}
    langs = args.langs.split(",")
    lines, all_crops = [], []
    if args.det:
        print("| corpus | lang | " + " | ".join(configs) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in configs) + " |")
        for corpus in args.corpora.split(","):
            path = os.path.join(CORPUS_ROOT, corpus)
            crops = det_crops(path, langs, args.per_lang)
            reads = {c: readers[c]([x[4] for x in crops]) for c in configs}
            score_det(path, crops, reads, configs)
            all_crops += [x[4] for x in crops]
        if args.time:
            timing(readers, all_crops, args.time, configs)
        return
    for corpus in args.corpora.split(","):
        crops = gt_crops(os.path.join(CORPUS_ROOT, corpus), langs, args.margin, args.per_lang)
        reads = {c: readers[c]([x[4] for x in crops]) for c in configs}
        for i, (page, line_id, lang, text, crop) in enumerate(crops):
            gt = score.norm(text)
            lines.append(
                {
                    "corpus": corpus,
                    "page": page,
                    "id": line_id,
                    "lang": lang,
                    "text": text,
                    "chars": len(gt),
                    "h": int(crop.shape[0]),
                    "w": int(crop.shape[1]),
                    "sharp": sharpness(crop),
                    "reads": {c: reads[c][i][0] for c in configs},
                    "edits": {c: score.levenshtein(gt, score.norm(reads[c][i][0])) for c in configs},
                }
            )
        all_crops += [x[4] for x in crops]
        print(f"  {corpus}: {len(crops)} lines read", file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(lines, f, ensure_ascii=False)
    print_cer(lines, configs)
    corpora = args.corpora.split(",")
    if "public" in corpora:
        for scan in corpora[1:]:
            line_by_line(lines, "public", scan, configs[0], args.show)
    full = next((c for c in configs if c.startswith(configs[0].split("@")[0] + "@1.0") and "+" not in c), None)
    if full and "+" not in configs[0]:
        sharp_rules(lines, configs[0], full)
    if args.time:
        timing(readers, all_crops, args.time, configs)


if __name__ == "__main__":
    main()
