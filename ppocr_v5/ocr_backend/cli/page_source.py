"""Which pages of an imported PDF take their text layer, and which are left to OCR (`--text-layer`).

`never`: every page is OCRed. `always`: every page with visible text takes its text layer (a page
without any is OCRed: there is nothing to take). `auto` (default) takes a page's text layer only
when it is usable (docs/beyond.md, "Text layer"):
- it has visible text (invisible render-mode-3 text is someone's OCR of a scan: the page is ours
  to OCR), and the page is not a full-page picture with a few words on it (a scan with a stamp);
- at most UNMAPPED_SHARE of its glyphs lack a Unicode mapping (broken fonts read as garbage);
- OCR agrees with it: `verify_lines` of its lines, spread over the page, are cut from the
  rendering and recognised; a mean character error above DISAGREE means the mapping is wrong
  (a font whose ToUnicode map lies), and OCR reads the page instead.
"""

import concurrent.futures
import dataclasses
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ocr_backend.core.page_text import PageText, union

MODES = ("auto", "always", "never")
UNMAPPED_SHARE = 0.1
DISAGREE = 0.5  # mean CER of the sampled lines; sound text layers of Debian manuals scored 0-0.08
PICTURE_SHARE = 0.5  # an image over half the page ...
PICTURE_TEXT = 100  # ... with fewer visible characters than this: a scanned page
PAD = 3  # pixels around a sampled line's box
CROP_WIDTH = 400  # pixels of a sampled line read by OCR (its first words)

Recognize = Callable[[Sequence[np.ndarray]], List[Tuple[str, float]]]


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def sample(texts: Sequence[str], count: int) -> List[int]:
    """Indices of up to `count` lines of at least 4 characters, spread evenly over the page."""
    candidates = [i for i, t in enumerate(texts) if len(t.replace(" ", "")) >= 4]
    if count <= 0 or not candidates:
        return []
    step = len(candidates) / min(count, len(candidates))
    return sorted({candidates[int(k * step)] for k in range(min(count, len(candidates)))})


@dataclasses.dataclass(frozen=True)
class Samples:
    """Line images cut from a page's rendering with the text its text layer gives them: all the
    OCR check needs of a page, so the page itself can go while the OCR models load."""

    crops: List[np.ndarray]
    texts: List[str]


def samples(page: PageText, image, count: int) -> Samples:
    """Up to `count` lines spread over the page, each cut to its first words up to CROP_WIDTH
    pixels (the recogniser's time grows with the width; a lying font mapping shows in a few words)."""
    rgb = np.asarray(image.convert("RGB"))
    crops, texts = [], []
    for i in sample(page.line_texts(), count):
        words = list(page.lines[i][:1])
        for word in page.lines[i][1:]:
            if word.box[2] - words[0].box[0] > CROP_WIDTH:
                break
            words.append(word)
        x0, y0, x1, y1 = union([w.box for w in words])
        x0, y0 = max(0, int(x0) - PAD), max(0, int(y0) - PAD)
        x1, y1 = min(rgb.shape[1], int(x1 + 1) + PAD), min(rgb.shape[0], int(y1 + 1) + PAD)
        crops.append(np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1]))  # BGR, what engines take
        texts.append("".join(w.text for w in words))
    return Samples(crops, texts)


def verdicts(pending: Dict[int, Samples], recognize: Recognize) -> Dict[int, Tuple[bool, str]]:
    """The OCR check of several pages in one recogniser call (its lines run in parallel): per page,
    (use the text layer?, why not) from the mean CER of its sampled lines."""
    crops = [crop for found in pending.values() for crop in found.crops]
    read = iter(recognize(crops) if crops else [])
    out = {}
    for key, found in pending.items():
        rates = [edit_distance(t, r.replace(" ", "")) / max(1, len(t)) for t, (r, _s) in zip(found.texts, read)]
        cer = sum(rates) / len(rates) if rates else 0.0
        why = f"its text disagrees with OCR (CER {cer:.0%} on {len(rates)} sampled lines)"
        out[key] = (True, "") if cer <= DISAGREE else (False, why)
    return out


def screen(mode: str, page: Optional[PageText], picture: float) -> Tuple[Optional[bool], str]:
    """Everything but the OCR check: (True: take it, False: OCR it, None: take it if OCR agrees;
    why not, when not)."""
    if mode == "never":
        return False, "--text-layer never"
    if page is None or not page.lines:
        hidden = page is not None and page.invisible > 0
        return False, "only invisible text (OCR under a scan)" if hidden else "no text layer"
    if mode == "always":
        return True, ""
    if picture >= PICTURE_SHARE and page.chars < PICTURE_TEXT:
        return False, "a full-page picture with little text"
    if page.unmapped_share > UNMAPPED_SHARE:
        return False, f"{page.unmapped_share:.0%} of its glyphs have no Unicode mapping"
    return None, ""


def choose(
    mode: str, page: Optional[PageText], picture: float, image, recognize: Optional[Recognize], verify_lines: int
) -> Tuple[bool, str]:
    """screen + the OCR check at once, for one rendered page (recognize None: no check)."""
    use, why = screen(mode, page, picture)
    if use is not None:
        return use, why
    if recognize is None or verify_lines <= 0 or page is None:
        return True, ""
    return verdicts({0: samples(page, image, verify_lines)}, recognize)[0]


class Checker:
    """The OCR that checks text layers, loaded in the background from the first page that needs it
    (once a run), so the model load overlaps the rendering and uploading of the next pages. Without
    it (no weights, a broken install) text layers are taken unchecked, and `warn` says so."""

    def __init__(self, factory: Optional[Callable[[], Recognize]], lines: int, warn: Callable[[str], object]):
        self.factory, self.lines, self.warn = factory or backend_recognizer, lines, warn
        self._future: Optional[concurrent.futures.Future] = None
        self._failed = False

    def start(self) -> None:
        if self._future is None and self.lines > 0:
            pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ocr-check")
            self._future = pool.submit(self.factory)
            pool.shutdown(wait=False)

    def recognize(self) -> Optional[Recognize]:
        if self._future is None or self._failed:
            return None
        try:
            return self._future.result()
        except Exception as exc:  # noqa: BLE001 - any failure to load: unchecked, and said so
            self._failed = True
            self.warn(f"text layers taken without the OCR check: {type(exc).__name__}: {exc}")
            return None


def backend_recognizer() -> Recognize:
    """The backend's own recogniser, with the settings of this environment (MODEL_DIR, ...)."""
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    engine = OcrEngine(Settings.from_env())
    engine.warm_up()
    return engine.recognize
