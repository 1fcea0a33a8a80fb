"""Born-digital PDFs: the text layer against OCR, page by page, both scored against poppler.

For each PDF (default: two Debian manuals no test uses, shared-mime-info's spec and bash-doc's
bash.pdf, fetched with apt-get download when not installed), every page is rendered at --dpi as
`import-pdf` renders it, and then:
  text   its text layer read and screened, the PDF's pages checked against OCR as the import's
         auto mode checks them (page_source.Plan: --verify-lines sampled lines on a few pages, one
         recogniser call per PDF, real weights, the engine already built), stored, and turned into
         Label Studio regions as /predict does;
  ocr    (on --ocr-pages pages spread over the PDF) the backend's OCR of the rendering.
The two run in turn on the same page (text, ocr, then ocr, text on the next) so the machine's noise
hits both. Printed: pages/s of each path (rendering included, upload excluded: the e2e suite's
artifacts/e2e/pdf-text.json has the figure with the upload and Label Studio), and line F1 at IoU
0.5 / CER against `pdftotext -bbox-layout` for the text layer on all pages, and for both paths on
the OCR pages, with the load average.

    PYTHONPATH=ppocr_v5:bench .venv/bin/python bench/pdf_text_layer.py
    PYTHONPATH=ppocr_v5:bench .venv/bin/python bench/pdf_text_layer.py some.pdf other.pdf --ocr-pages 6
    # the text layer alone against poppler (no engine, no OCR), 40 pages spread over each PDF:
    PYTHONPATH=ppocr_v5:bench .venv/bin/python bench/pdf_text_layer.py a.pdf --ocr-pages 0 --verify-lines 0 --pages 40

(PYTHONPATH: the tests' package, for support/pdf.py.)
"""

import argparse
import json
import os
import time
from pathlib import Path

from ocr_backend.cli import page_source
from ocr_backend.cli.pdf_pages import SCALE_NUDGE, PdfPages
from ocr_backend.core.page_text import from_data, text_lines, to_data, union
from ocr_backend.labelstudio import encode
from ocr_backend.labelstudio.label_config import parse_label_config
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.settings import Settings

from common import REPO
from tests.support.pdf import debian_pdf, poppler_lines, score

HELD_OUT = [
    ("shared-mime-info", "usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
    ("bash-doc", "usr/share/doc/bash/bash.pdf"),
]
CONFIG = """<View><Image name="pdf" valueList="$pages"/><Labels name="label" toName="pdf"><Label value="Text"/>
</Labels><Polygon name="poly" toName="pdf"/><TextArea name="t" toName="pdf" perRegion="true"/></View>"""


def text_read(doc, index, dpi, cap, plan):
    """Render and read one page, screen it and hand it to the PDF's OCR-check plan (import-pdf's
    auto mode): the page's text layer, or None when it is left to OCR without a check."""
    page = doc.render(index, dpi, cap, text=True)
    use, _why = page_source.screen("auto", page.text, page.picture)
    if use is None and plan.lines > 0:
        plan.add(index, page.text, page.image, page.picture)
    return page.text if use is not False else None


def text_regions(index, page, tags, settings):
    """The stored page as /predict answers it (Label Studio regions), and its lines for scoring."""
    stored = from_data(to_data(page))
    if stored is None:
        return None
    lines = text_lines(stored, settings.word_boxes)
    encode.encode_lines(lines, tags, stored.width, stored.height, settings.output_type, item_index=index)
    return [
        {"box": list(union([w.box for w in line])), "text": " ".join(w.text for w in line)} for line in stored.lines
    ]


def ocr_path(doc, index, dpi, cap, engine):
    import numpy as np

    page = doc.render(index, dpi, cap)
    ocr = engine.run(np.ascontiguousarray(np.asarray(page.image.convert("RGB"))[:, :, ::-1]))
    return [{"points": [list(p) for p in line.points], "text": line.text} for line in ocr.lines]


def boxed(preds):
    out = []
    for p in preds:
        if "box" in p:
            out.append(p)
        else:
            xs, ys = [q[0] for q in p["points"]], [q[1] for q in p["points"]]
            out.append({"box": [min(xs), min(ys), max(xs), max(ys)], "text": p["text"]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pdfs", nargs="*")
    ap.add_argument("--dpi", type=float, default=150.0)
    ap.add_argument("--ocr-pages", type=int, default=4, help="pages per PDF also OCRed (spread over it); 0: none")
    ap.add_argument("--pages", type=int, default=0, help="read only this many pages per PDF, spread over it (0: all)")
    ap.add_argument("--verify-lines", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "pdf_text_layer.json"))
    args = ap.parse_args()
    pdfs = [Path(p) for p in args.pdfs] or [debian_pdf(pkg, path) for pkg, path in HELD_OUT]
    settings = Settings.from_env()
    tags = parse_label_config(CONFIG)
    # Text layer alone (--ocr-pages 0 --verify-lines 0): no engine is built, nothing is OCRed.
    engine = OcrEngine(settings) if args.ocr_pages or args.verify_lines else None
    t0 = time.perf_counter()
    if engine is not None:
        engine.warm_up()
    build = time.perf_counter() - t0
    scale = args.dpi / 72 * SCALE_NUDGE
    report = {"dpi": args.dpi, "engine_build_seconds": round(build, 2), "pdfs": {}}
    for pdf in pdfs:
        with PdfPages(pdf) as doc:
            total = len(doc)
            read = sorted({int(k * total / args.pages) for k in range(args.pages)}) if args.pages else range(total)
            n = len(read)
            sample = sorted({read[int(k * n / args.ocr_pages)] for k in range(min(args.ocr_pages, n))})
            t_text, t_ocr, rows_pair_ocr, text_pages = 0.0, 0.0, [], 0
            plan, layers, gts = page_source.Plan(args.verify_lines), {}, {}
            for index in read:
                gt = gts[index] = poppler_lines(pdf, index + 1, scale)
                order = ("text", "ocr") if index % 2 == 0 else ("ocr", "text")
                for which in order:
                    if which == "ocr" and index not in sample:
                        continue
                    t0 = time.perf_counter()
                    if which == "text":
                        layers[index] = text_read(doc, index, args.dpi, settings.max_image_pixels, plan)
                        t_text += time.perf_counter() - t0
                    else:
                        preds = boxed(ocr_path(doc, index, args.dpi, settings.max_image_pixels, engine))
                        t_ocr += time.perf_counter() - t0
                        rows_pair_ocr.append({"pred": preds, "gt": gt})
            t0 = time.perf_counter()  # the OCR check of the whole PDF (one recogniser call), then /predict's part
            for index, (keep, _why) in (plan.verdicts(engine.recognize) if engine and plan.pages else {}).items():
                layers[index] = layers[index] if keep else None
            preds = {index: text_regions(index, layers[index], tags, settings) for index in read}
            t_text += time.perf_counter() - t0
            text_pages = sum(p is not None for p in preds.values())
            rows_text = {i: {"pred": preds[i] or [], "gt": gts[i]} for i in read}
            rows_pair_text = [rows_text[i] for i in sample]
        figures = {
            "pages": n,
            "pages_in_pdf": total,
            "pages_from_text_layer": text_pages,
            "text_pages_per_s": round(n / t_text, 2),
            "ocr_pages": len(sample),
            "ocr_pages_per_s": round(len(sample) / t_ocr, 3) if sample else None,
            "text_vs_poppler_all_pages": score(list(rows_text.values())),
            "text_vs_poppler_ocr_pages": score(rows_pair_text) if sample else None,
            "ocr_vs_poppler_ocr_pages": score(rows_pair_ocr) if sample else None,
            "load_average": os.getloadavg(),
        }
        report["pdfs"][os.path.basename(pdf)] = figures
        keep = ("f1", "cer", "e2e_cer")
        print(
            f"{os.path.basename(pdf)}: {n} of {total} pages, {text_pages} from the text layer; text layer "
            f"{figures['text_pages_per_s']} pages/s\n"
            f"  vs poppler, all pages:  text {[figures['text_vs_poppler_all_pages'][k] for k in keep]}",
            flush=True,
        )
        if sample:
            print(
                f"  OCR {figures['ocr_pages_per_s']} pages/s "
                f"({figures['text_pages_per_s'] / figures['ocr_pages_per_s']:.0f}x)\n"
                f"  vs poppler, OCR pages:  text {[figures['text_vs_poppler_ocr_pages'][k] for k in keep]}  "
                f"OCR {[figures['ocr_vs_poppler_ocr_pages'][k] for k in keep]}   (f1, cer, e2e_cer)",
                flush=True,
            )
        print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
