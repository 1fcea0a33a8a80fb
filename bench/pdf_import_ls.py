"""The issue's acceptance figure: born-digital PDFs through `ppocr-v5 import-pdf` into a real Label
Studio 1.23.2 and its "Retrieve predictions", per page, scored against poppler.

Starts Label Studio and the backend with the e2e harness (needs `make e2e-deps`), imports each PDF
(default: the two Debian manuals of bench/pdf_text_layer.py, which no test uses) into its own
project with `--text-layer auto`, asks for the predictions the way the Data Manager's action does,
asks a second time, and prints: seconds per page for import + prediction (the command's own wall
time, CLI start and the OCR check's model load included), the predictions per task after both
retrievals (must be 1), and line F1 at IoU 0.5 / CER of the stored prediction against
`pdftotext -bbox-layout` over all pages, with the load average.

    PYTHONPATH=ppocr_v5:e2e:bench .venv/bin/python bench/pdf_import_ls.py [PDF ...] [--verify-lines 2,0] [--repeat 2]

(PYTHONPATH: the tests' package, for support/pdf.py and the launcher, the e2e harness, bench/.)

--verify-lines takes a list: each PDF is imported once per value, in turn (A B A B with --repeat),
each time into a new project, so the OCR check's share of the time shows on the same machine load.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from pdf_text_layer import HELD_OUT, boxed

from common import REPO
from harness.common import CACHE, LOGS, POLYGON_CONFIG, VENV_LS, new_project
from harness.labelstudio import (
    LEGACY_TOKEN,
    LabelStudioServer,
    LSClient,
    create_personal_access_token,
    set_legacy_tokens,
)
from harness.regions import group_regions, lines_for_scoring
from tests.support.launcher import Backend
from tests.support.pdf import debian_pdf, poppler_lines, score

CONFIG = POLYGON_CONFIG.replace('value="$image"', 'valueList="$pages"')
CLI = Path(REPO) / ".venv" / "bin" / "ppocr-v5"
SCALE = 150 / 72 * (1 - 1e-9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pdfs", nargs="*")
    ap.add_argument("--verify-lines", default="2", help="comma-separated values, imported in turn")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    pdfs = [Path(p) for p in args.pdfs] or [debian_pdf(pkg, path) for pkg, path in HELD_OUT]
    runs = [(pdf, v) for pdf in pdfs for _ in range(args.repeat) for v in args.verify_lines.split(",")]
    server = LabelStudioServer(Path(VENV_LS), Path(CACHE), Path(LOGS))
    server.start()
    backend = None
    try:
        pat = create_personal_access_token(server.url)
        set_legacy_tokens(server.url, pat, True)
        ls = LSClient(server.url, f"Token {LEGACY_TOKEN}")
        env = {"LABEL_STUDIO_URL": server.url, "LABEL_STUDIO_API_KEY": LEGACY_TOKEN}
        backend = Backend(Path(LOGS) / "backend-pdf-bench.log", {"WORKERS": "1", **env}, die_with_parent=True)
        backend.wait_ready(120)
        report = {}
        for n, (pdf, verify) in enumerate(runs):
            ids = new_project(ls, f"bench {pdf.name} {n}", CONFIG, backend)
            with tempfile.TemporaryDirectory() as folder:
                copy = Path(folder) / pdf.name
                copy.write_bytes(pdf.read_bytes())
                cmd = [str(CLI), "import-pdf", str(copy), "--project", str(ids["project"]), "--url", server.url]
                t0 = time.monotonic()
                cmd += ["--api-key", pat, "--no-progress", "--verify-lines", verify]
                run = subprocess.run(cmd, capture_output=True, text=True)
                imported = time.monotonic() - t0
            assert run.returncode == 0, run.stderr[-3000:]
            (task,) = ls.tasks(ids["project"])
            t0 = time.monotonic()
            ls.retrieve_predictions(ids["project"], [task["id"]])
            predicted = time.monotonic() - t0
            ls.retrieve_predictions(ids["project"], [task["id"]])
            preds = ls.predictions_by_task(ids["project"])[task["id"]]
            pages = task["data"]["pdf_pages"]
            rows = []
            for index in range(pages):
                result = [i for i in preds[0]["result"] if i.get("item_index") == index]
                rows.append({"pred": boxed(lines_for_scoring(result)), "gt": poppler_lines(pdf, index + 1, SCALE)})
            overall = score(rows)
            figures = {
                "verify_lines": int(verify),
                "pages": pages,
                "import_seconds": round(imported, 2),
                "retrieve_seconds": round(predicted, 2),
                "seconds_per_page": round((imported + predicted) / pages, 3),
                "predictions_after_two_retrievals": len(preds),
                "regions": len(group_regions(preds[0]["result"])),
                "f1": overall["f1"],
                "cer": overall["cer"],
                "e2e_cer": overall["e2e_cer"],
                "load_average": os.getloadavg(),
                "summary": run.stderr.strip().splitlines()[-4:],
            }
            report[f"{pdf.name} #{n}"] = figures
            print(json.dumps({f"{pdf.name} #{n}": figures}, indent=1), flush=True)
        out = Path(REPO) / "bench" / "results" / "pdf_import_ls.json"
        out.write_text(json.dumps(report, indent=1))
    finally:
        if backend:
            backend.stop()
        server.stop()


if __name__ == "__main__":
    main()
