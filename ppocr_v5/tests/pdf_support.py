"""Test support for born-digital PDFs: real files, and poppler as the independent yardstick.

- `debian_pdf(package, path)`: a PDF manual shipped in a Debian package, fetched with
  `apt-get download` and unpacked with `dpkg-deb -x` into a cache folder (never committed), or
  taken from the installed package when it is there.
- `groff_pdf(text)`: a PDF that groff (Debian's, offline) typesets from troff input: real fonts,
  real ligatures, real hyphenation, the text known in advance.
- `poppler_lines(pdf, page, scale)`: poppler's `pdftotext -bbox-layout` lines of one page (the
  same text layer read by another library), in pixels of a rendering at `scale` pixels per point.
- `score(pred, gt)`: line F1 at IoU 0.5 and CER with the corpus's own score.py.
"""

import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from corpus import REPO, scorer

CACHE = Path(REPO) / "artifacts" / "pdf-cache"


def have_poppler() -> bool:
    return shutil.which("pdftotext") is not None


def need_poppler():
    if not have_poppler():
        pytest.fail("pdftotext missing: apt-get install poppler-utils (e2e/setup.sh installs it)")


def debian_pdf(package: str, path: str) -> Path:
    installed = Path("/") / path
    if installed.exists():
        return installed
    target = CACHE / package
    unpacked = target / path
    if not unpacked.exists():
        target.mkdir(parents=True, exist_ok=True)
        download = ["apt-get", "download", package]
        if subprocess.run(download, cwd=target, capture_output=True, timeout=300).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)  # fresh lists
            subprocess.run(download, cwd=target, check=True, capture_output=True, timeout=300)
        (deb,) = target.glob(f"{package}_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True, timeout=120)
    return unpacked


def groff_pdf(troff: str, path: Path) -> Path:
    """troff input -> PDF with groff's -ms macros (Times, ligatures on, hyphenation on)."""
    run = subprocess.run(["groff", "-ms", "-Tpdf"], input=troff.encode(), capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    path.write_bytes(run.stdout)
    return path


_LINE = re.compile(r"<line xMin=\"([\d.]+)\" yMin=\"([\d.]+)\" xMax=\"([\d.]+)\" yMax=\"([\d.]+)\">(.*?)</line>", re.S)
_WORD = re.compile(r"<word [^>]*>(.*?)</word>", re.S)


def poppler_lines(pdf: Path, page: int, scale: float) -> List[dict]:
    """Lines of 1-based `page`: {"bbox": [x0, y0, x1, y1] in pixels, "text": words joined by spaces}."""
    out = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8", "replace")
    lines = []
    for m in _LINE.finditer(out):
        words = [html.unescape(w) for w in _WORD.findall(m.group(5))]
        box = [float(v) * scale for v in m.groups()[:4]]
        if words:
            lines.append({"bbox": box, "text": " ".join(words)})
    return lines


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, timeout=60).stdout.decode()
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def score(rows: List[dict]) -> Dict[str, float]:
    """rows: {"pred": [{"box", "text"}], "gt": [{"bbox", "text"}]} per page -> overall summary."""
    s = scorer()
    scored = [s.score_page({"lines": r["gt"], "lang": "en"}, r["pred"]) for r in rows]
    return s.summarize(scored)["overall"]
