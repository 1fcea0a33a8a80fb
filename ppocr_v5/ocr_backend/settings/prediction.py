"""Declarations: which models read the page, and what a prediction contains.

Most of these change predictions (`affects_predictions`), so they are in model_version's digest.
A new setting of that sort is declared here, as one `declare(...)` (settings/declaration.py).
"""

import dataclasses

from ocr_backend.core.catalogue import VERSION_VARIANTS
from ocr_backend.settings.declaration import declare
from ocr_backend.settings.kinds import FRACTION, Choice, Flag, Language, Text, Variant

OUTPUT_TYPES = ("polygon", "rectangle")


@dataclasses.dataclass(frozen=True)
class PredictionSettings:
    # PPOCR_VERSION first: MODEL_VARIANT's and OCR_LANG's allowed values depend on it.
    ppocr_version: str = declare(
        "PPOCR_VERSION",
        Choice(tuple(VERSION_VARIANTS)),
        "v5",
        "{allowed}: the PP-OCR generation (v6 reads `ch` and `en` only)",
        affects_predictions=True,
    )
    model_variant: str = declare("MODEL_VARIANT", Variant(), "mobile", "{allowed}", affects_predictions=True)
    ocr_lang: str = declare("OCR_LANG", Language(), "ch", "{allowed}", affects_predictions=True)
    score_threshold: float = declare(
        "SCORE_THRESHOLD", FRACTION, 0.5, "drop lines whose recognition score is lower", affects_predictions=True
    )
    # As the seed's table and label-studio-ml-backend's PaddleOCR example define it: PaddleX's `thresh`.
    det_score_threshold: float = declare(
        "DET_SCORE_THRESHOLD",
        FRACTION,
        0.3,
        "text pixel threshold of the detector's probability map (PaddleX `thresh`)",
        affects_predictions=True,
    )
    det_box_threshold: float = declare(
        "DET_BOX_THRESHOLD",
        FRACTION,
        0.6,
        "drop detected boxes whose mean score is lower (PaddleX `box_thresh`)",
        affects_predictions=True,
    )
    output_type: str = declare(
        "OUTPUT_TYPE",
        Choice(OUTPUT_TYPES),
        "polygon",
        "{allowed}, when the config has both geometry tags",
        affects_predictions=True,
    )
    include_transcription: bool = declare(
        "INCLUDE_TRANSCRIPTION", Flag(), True, "fill the per-region TextArea", affects_predictions=True
    )
    use_doc_orientation: bool = declare(
        "USE_DOC_ORIENTATION",
        Flag(),
        False,
        "classify page rotation first (regions are mapped back onto the uploaded image)",
        affects_predictions=True,
    )
    use_doc_unwarping: bool = declare(
        "USE_DOC_UNWARPING",
        Flag(),
        False,
        "unwarp photographed pages (no exact inverse: regions are withheld, see log)",
        affects_predictions=True,
    )
    use_textline_orientation: bool = declare(
        "USE_TEXTLINE_ORIENTATION", Flag(), False, "fix upside-down lines", affects_predictions=True
    )
    # x1_0 is provisioned by make models; x0_25 (PaddleX's other variant) comes from its download by name.
    textline_orientation_model: str = declare(
        "TEXTLINE_ORIENTATION_MODEL",
        Choice(("x1_0", "x0_25")),
        "x1_0",
        "{allowed}: `PP-LCNet_<size>_textline_ori` for `USE_TEXTLINE_ORIENTATION`",
        affects_predictions=True,
    )
    # One region per word (PaddleX return_word_box) instead of one per line.
    word_boxes: bool = declare(
        "WORD_BOXES", Flag(), False, "one region per word instead of per line", affects_predictions=True
    )
    default_label: str = declare(
        "DEFAULT_LABEL",
        Text(),
        "",
        "the label given to each region (a tag's `predicted_values` wins)",
        affects_predictions=True,
        shown_default="first label",
    )
    # Label Studio's "Interfaces" custom UIs send a near-empty label config (<View/>): these tag names
    # stand in for the config's then. Not digested: they only name tags, and only for such projects.
    fallback_image: str = declare(
        "FALLBACK_IMAGE", Text(), "image", "with a near-empty label config (`<View/>`): the Image name and data key"
    )
    fallback_geometry: str = declare(
        "FALLBACK_GEOMETRY", Text(), "poly", "with `<View/>`: the geometry tag's name (`OUTPUT_TYPE` its shape)"
    )
    fallback_labels: str = declare(
        "FALLBACK_LABELS", Text(), "label", "with `<View/>`: the Labels tag's name (empty: none)"
    )
    fallback_textarea: str = declare(
        "FALLBACK_TEXTAREA", Text(), "transcription", "with `<View/>`: the per-region TextArea's name (empty: none)"
    )
