"""PaddleX model names for a (variant, language) pair, following PaddleOCR 3.x naming."""

import dataclasses
from typing import Tuple

from ocr_backend.settings import VERSION_VARIANTS

# OCR_LANG -> prefix of the dedicated PP-OCRv5 recogniser. ch and en share the base model,
# which reads simplified/traditional Chinese, English and Japanese.
_REC_PREFIX = {
    "arabic": "arabic",
    "cyrillic": "cyrillic",
    "devanagari": "devanagari",
    "el": "el",
    "eslav": "eslav",
    "korean": "korean",
    "latin": "latin",
    "ta": "ta",
    "te": "te",
    "th": "th",
}


@dataclasses.dataclass(frozen=True)
class ModelNames:
    det: str
    rec: str
    warnings: Tuple[str, ...] = ()


# PP-OCRv6 variants (PPOCR_VERSION=v6); disjoint from v5's mobile/server, so the variant names the family.
V6_VARIANTS = VERSION_VARIANTS["v6"]


def resolve_model_names(variant: str, lang: str) -> ModelNames:
    """Detection and recognition model names for MODEL_VARIANT and OCR_LANG (already validated)."""
    if variant in V6_VARIANTS:
        # One multilingual (ch/en/ja) recogniser per size; settings.py refuses other languages.
        return ModelNames(det=f"PP-OCRv6_{variant}_det", rec=f"PP-OCRv6_{variant}_rec")
    det = f"PP-OCRv5_{variant}_det"
    if lang in ("ch", "en"):
        return ModelNames(det=det, rec=f"PP-OCRv5_{variant}_rec")
    prefix = _REC_PREFIX[lang]
    warnings: Tuple[str, ...] = ()
    if variant == "server":
        # Only mobile recognisers exist for these languages; the server detector still helps.
        warnings = (
            f"MODEL_VARIANT=server has no recogniser for OCR_LANG={lang}; "
            f"using {prefix}_PP-OCRv5_mobile_rec with {det}.",
        )
    return ModelNames(det=det, rec=f"{prefix}_PP-OCRv5_mobile_rec", warnings=warnings)


def is_rtl(lang: str) -> bool:
    """Languages read right to left (region order follows)."""
    return lang == "arabic"
