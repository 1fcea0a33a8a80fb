"""The PP-OCR catalogue (ocr_backend/core/catalogue.py): PaddleX model names per version, variant, language."""

import pytest

from ocr_backend.core.catalogue import (
    LANGUAGES,
    SECOND_MODELS,
    V6_LANGUAGES,
    VERSION_VARIANTS,
    ModelNames,
    is_rtl,
    resolve_model_names,
    second_model,
)


@pytest.mark.parametrize("variant", ["mobile", "server"])
@pytest.mark.parametrize("lang", ["ch", "en"])
def test_chinese_and_english_use_the_base_models(variant, lang):
    names = resolve_model_names(variant, lang)
    assert (names.det, names.rec, names.warnings) == (f"PP-OCRv5_{variant}_det", f"PP-OCRv5_{variant}_rec", ())


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang not in ("ch", "en")])
def test_other_languages_use_their_mobile_recogniser(lang):
    names = resolve_model_names("mobile", lang)
    assert names.rec == f"{lang}_PP-OCRv5_mobile_rec" and names.det == "PP-OCRv5_mobile_det"
    assert not names.warnings


def test_server_for_a_language_without_server_model_warns_and_uses_mobile():
    names = resolve_model_names("server", "korean")
    assert names.rec == "korean_PP-OCRv5_mobile_rec" and names.det == "PP-OCRv5_server_det"
    assert len(names.warnings) == 1 and "korean_PP-OCRv5_mobile_rec" in names.warnings[0]


def test_every_name_is_one_paddlex_knows():
    from paddlex.inference.utils.official_models import ALL_MODELS, ONNX_SUPPORTED_MODELS

    for lang in LANGUAGES:
        for variant in ("mobile", "server"):
            names = resolve_model_names(variant, lang)
            assert {names.det, names.rec} <= set(ALL_MODELS)
            # the onnxruntime engine downloads the official ONNX package by the same name
            assert {names.det, names.rec} <= ONNX_SUPPORTED_MODELS


def test_the_variant_alone_names_the_generation():
    v5, v6 = (set(VERSION_VARIANTS[v]) for v in ("v5", "v6"))
    assert not v5 & v6
    for variant in sorted(v6):
        names = {resolve_model_names(variant, lang) for lang in V6_LANGUAGES}
        assert names == {ModelNames(f"PP-OCRv6_{variant}_det", f"PP-OCRv6_{variant}_rec")}


@pytest.mark.parametrize("variant,lang", [("large", "ch"), ("mobile", "klingon"), ("", "en")])
def test_a_name_outside_the_catalogue_is_refused(variant, lang):
    with pytest.raises(ValueError):
        resolve_model_names(variant, lang)


def test_only_arabic_reads_right_to_left():
    assert [lang for lang in LANGUAGES if is_rtl(lang)] == ["arabic"]


def test_the_second_reader_applies_where_it_reads_the_script_and_is_another_model():
    assert second_model("PP-OCRv6_small_rec", "ch", "PP-OCRv5_mobile_rec") == "PP-OCRv6_small_rec"
    assert second_model("PP-OCRv6_tiny_rec", "en", "PP-OCRv5_server_rec") == "PP-OCRv6_tiny_rec"
    assert second_model("PP-OCRv6_small_rec", "en", "PP-OCRv6_tiny_rec") == "PP-OCRv6_small_rec"
    assert second_model("none", "ch", "PP-OCRv5_mobile_rec") is None
    assert second_model("PP-OCRv6_small_rec", "ch", "PP-OCRv6_small_rec") is None  # already reads every line
    for lang in LANGUAGES:
        if lang not in V6_LANGUAGES:
            assert second_model("PP-OCRv6_small_rec", lang, resolve_model_names("mobile", lang).rec) is None


def test_every_second_model_is_one_paddlex_downloads_as_onnx():
    from paddlex.inference.utils.official_models import ONNX_SUPPORTED_MODELS

    assert set(SECOND_MODELS) - {"none"} <= ONNX_SUPPORTED_MODELS
