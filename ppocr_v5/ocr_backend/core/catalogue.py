"""The PP-OCR catalogue: the generations, their model variants, the languages each reads, and the
PaddleX model names for a choice of them (PaddleOCR 3.x naming).

Pure data and lookups: settings/ validates PPOCR_VERSION, MODEL_VARIANT and OCR_LANG against it,
ocr/ loads the models it names, labelstudio/versioning.py puts those names in model_version.
"""

import dataclasses
from typing import Dict, Optional, Tuple

# OCR_LANG values: every language PP-OCRv5 has a recogniser for.
LANGUAGES = ("ch", "en", "arabic", "cyrillic", "devanagari", "el", "eslav", "korean", "latin", "ta", "te", "th")
# PPOCR_VERSION -> its MODEL_VARIANT values (first = default). The sets are disjoint, so the variant
# alone names the model family (resolve_model_names relies on that).
VERSION_VARIANTS: Dict[str, Tuple[str, ...]] = {"v5": ("mobile", "server"), "v6": ("small", "tiny", "medium")}
# PP-OCRv6 ships one recogniser (Chinese, English, Japanese); other languages stay on v5.
V6_LANGUAGES = ("ch", "en")
# ch and en share v5's base recogniser, which reads simplified/traditional Chinese, English and
# Japanese; every other language has a mobile recogniser of its own, named after the language.
_BASE_LANGUAGES = ("ch", "en")
RTL_LANGUAGES = ("arabic",)
# REC_SECOND_MODEL values: recognisers that read v5's base languages (ch, en, Japanese) and read each
# line before the main one; "none": the main recogniser alone (docs/speed.md, "Two recognisers").
SECOND_MODELS = ("PP-OCRv6_small_rec", "PP-OCRv6_tiny_rec", "none")


@dataclasses.dataclass(frozen=True)
class ModelNames:
    det: str
    rec: str
    warnings: Tuple[str, ...] = ()


def resolve_model_names(variant: str, lang: str) -> ModelNames:
    """Detection and recognition model names for MODEL_VARIANT and OCR_LANG (already validated)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no recogniser for language {lang!r}")
    if variant in VERSION_VARIANTS["v6"]:
        # One multilingual (ch/en/ja) recogniser per size; settings/ refuses other languages.
        return ModelNames(det=f"PP-OCRv6_{variant}_det", rec=f"PP-OCRv6_{variant}_rec")
    if variant not in VERSION_VARIANTS["v5"]:
        raise ValueError(f"no PP-OCR variant {variant!r}")
    det = f"PP-OCRv5_{variant}_det"
    if lang in _BASE_LANGUAGES:
        return ModelNames(det=det, rec=f"PP-OCRv5_{variant}_rec")
    rec = f"{lang}_PP-OCRv5_mobile_rec"
    warnings: Tuple[str, ...] = ()
    if variant == "server":
        # Only mobile recognisers exist for these languages; the server detector still helps.
        warnings = (f"MODEL_VARIANT=server has no recogniser for OCR_LANG={lang}; using {rec} with {det}.",)
    return ModelNames(det=det, rec=rec, warnings=warnings)


def second_model(configured: str, lang: str, rec: str) -> Optional[str]:
    """The recogniser that reads lines beside the main one `rec` (REC_SECOND_MODEL), or None where it
    does not apply: switched off, a language it cannot read (it reads only what v5's base recogniser
    reads), or the main recogniser itself."""
    if configured == "none" or lang not in _BASE_LANGUAGES or configured == rec:
        return None
    return configured


def is_rtl(lang: str) -> bool:
    """Languages read right to left (region order follows)."""
    return lang in RTL_LANGUAGES
