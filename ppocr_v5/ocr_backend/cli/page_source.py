"""Which pages of an imported PDF take their text layer, and which are left to OCR (`--text-layer`).

`never`: every page is OCRed. `always`: every page with visible text takes its text layer (a page
without any is OCRed: there is nothing to take). `auto` (default) takes a page's text layer only
when it is usable (docs/beyond.md, "Text layer"):
- it has visible text (invisible render-mode-3 text is someone's OCR of a scan: the page is ours
  to OCR), and the page is not a full-page picture with a few words on it (a scan with a stamp);
- at most UNMAPPED_SHARE of its glyphs lack a Unicode mapping (broken fonts read as garbage);
- OCR agrees with it: `verify_lines` of its lines are cut from the rendering and recognised; a
  mean character error above DISAGREE means the mapping is wrong (a font whose ToUnicode map
  lies), and OCR reads the page instead. Not every page is read (the check is the import's
  biggest cost, docs/beyond.md): `Plan` checks SPREAD pages spread over the PDF, every page with
  a font no earlier page used (on lines in that font), every page with unmapped glyphs or a large
  picture; when any of them disagrees, every other page of the PDF is checked too.
"""

import concurrent.futures
import dataclasses
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import numpy as np

from ocr_backend.core.page_text import PageText, union

MODES = ("auto", "always", "never")
UNMAPPED_SHARE = 0.1
DISAGREE = 0.5  # mean CER of the sampled lines; sound text layers of Debian manuals scored 0-0.08
PICTURE_SHARE = 0.5  # an image over half the page ...
PICTURE_TEXT = 100  # ... with fewer visible characters than this: a scanned page
PAD = 3  # pixels around a sampled line's box
CROP_WIDTH = 400  # pixels of a sampled line read by OCR (its first words)
SPREAD = 3  # pages of each PDF (part) always checked: the first, middle and last that need it
NEW_FONT_LINES = 4  # extra lines a page may get checked for the fonts it is the first to use

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


def sample_fonts(page: PageText, fonts: FrozenSet[str], count: int) -> List[int]:
    """`sample`, plus for each of `fonts` one line that uses it (up to NEW_FONT_LINES more)."""
    texts = page.line_texts()
    chosen = set(sample(texts, count))
    for font in sorted(fonts):
        if len(chosen) >= count + NEW_FONT_LINES or any(font in page.line_fonts[i] for i in chosen):
            continue
        chosen |= set(
            next(([i] for i, f in enumerate(page.line_fonts) if font in f and len(texts[i].replace(" ", "")) >= 4), [])
        )
    return sorted(chosen)


@dataclasses.dataclass(frozen=True)
class Samples:
    """Line images cut from a page's rendering with the text its text layer gives them: all the
    OCR check needs of a page, so the page itself can go while the OCR models load."""

    crops: List[np.ndarray]
    texts: List[str]


def samples(page: PageText, image, count: int, fonts: FrozenSet[str] = frozenset()) -> Samples:
    """Up to `count` lines spread over the page (and one in each of `fonts`), each cut to its first
    words up to CROP_WIDTH pixels (the recogniser's time grows with the width; a lying font mapping
    shows in a few words)."""
    rgb = np.asarray(image.convert("RGB"))
    crops, texts = [], []
    for i in sample_fonts(page, fonts, count):
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


class Plan:
    """The OCR check of one PDF (or part): each page that passed `screen` is added in page order with
    its sampled lines; `verdicts` reads the pages the rule above picks, in one recogniser call (a
    page picked only for its new fonts: just lines in those fonts), and the others only when one
    of those disagrees (a lying font then cannot hide on an unread page)."""

    def __init__(self, lines: int):
        self.lines = lines
        self.pages: Dict[int, Samples] = {}
        self.new_fonts: Dict[int, Samples] = {}  # pages that use a font first: lines in those fonts
        self.with_fonts: Dict[int, Samples] = {}  # ... and the spread lines with them
        self.flagged: Set[int] = set()  # unmapped glyphs, a large picture: checked like spread pages
        self._fonts: Set[str] = set()

    def add(self, key: int, page: PageText, image, picture: float = 0.0) -> None:
        new = frozenset(page.fonts - self._fonts)
        self._fonts |= page.fonts
        self.pages[key] = samples(page, image, self.lines)
        if new:
            self.new_fonts[key] = samples(page, image, 0, new)
            self.with_fonts[key] = samples(page, image, self.lines, new)
        if page.unmapped or picture >= PICTURE_SHARE:
            self.flagged.add(key)

    def spread(self) -> Set[int]:
        keys = sorted(self.pages)
        return {keys[round(k * (len(keys) - 1) / max(1, SPREAD - 1))] for k in range(min(SPREAD, len(keys)))}

    def first_round(self) -> Dict[int, Samples]:
        """The pages read first and the lines read on each."""
        full = self.spread() | self.flagged
        out = {k: self.with_fonts.get(k, self.pages[k]) for k in full}
        out.update({k: found for k, found in self.new_fonts.items() if k not in full})
        return dict(sorted(out.items()))

    def verdicts(self, recognize: Recognize) -> Dict[int, Tuple[bool, str]]:
        first = verdicts(self.first_round(), recognize)
        rest = {k: v for k, v in self.pages.items() if k not in first}
        if all(keep for keep, _why in first.values()):
            return {**first, **{k: (True, "") for k in rest}}
        return {**first, **verdicts(rest, recognize)}


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
    """The backend's own line recogniser, with the settings of this environment (MODEL_DIR, ...),
    built the quick way (ocr/check_recognizer.py: no PaddleX where fast_rec reads the lines)."""
    from ocr_backend.ocr.check_recognizer import check_recognizer
    from ocr_backend.settings import Settings

    return check_recognizer(Settings.from_env())
