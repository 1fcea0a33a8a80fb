"""All configuration, parsed and validated once from the environment.

Every other module receives a `Settings` instance instead of reading os.environ, so an invalid
value stops start-up here with a message naming the variable, the value and what is allowed.
"""
import dataclasses
import os
import re
from typing import Mapping, Optional

from ocr_backend.errors import ConfigError, UrlError
from ocr_backend.core.urls import parse_url

LANGUAGES = ("ch", "en", "arabic", "cyrillic", "devanagari", "el", "eslav", "korean", "latin",
             "ta", "te", "th")
VARIANTS = ("mobile", "server")
# PPOCR_VERSION -> its MODEL_VARIANT values (first = default). The sets are disjoint, so the variant
# alone names the model family (model_names.py relies on that).
VERSION_VARIANTS = {"v5": VARIANTS, "v6": ("small", "tiny", "medium")}
# PP-OCRv6 ships one recogniser (Chinese, English, Japanese); other languages stay on v5.
V6_LANGUAGES = ("ch", "en")
OUTPUT_TYPES = ("polygon", "rectangle")
ENGINES = ("auto", "paddle", "onnxruntime")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")



@dataclasses.dataclass(frozen=True)
class Settings:
    ppocr_version: str = "v5"
    model_variant: str = "mobile"
    ocr_lang: str = "ch"
    device: str = "cpu"
    score_threshold: float = 0.5
    det_score_threshold: float = 0.6
    output_type: str = "polygon"
    include_transcription: bool = True
    use_doc_orientation: bool = False
    use_doc_unwarping: bool = False
    use_textline_orientation: bool = False
    label_studio_url: str = ""
    label_studio_api_key: str = ""
    # Weights: explicit folders win, then $MODEL_DIR/<model_name>/, then PaddleX's own download.
    model_dir: str = ""
    det_model_dir: str = ""
    rec_model_dir: str = ""
    # auto: onnxruntime on CPU (fastest here), Paddle on GPU (CUDA build of paddlepaddle).
    inference_engine: str = "auto"
    cpu_threads: int = 0  # 0: one per available core
    # Batch 1 is cheapest per line on CPU (wide batches spill out of the cache; bench/FINDINGS.md).
    rec_batch_size: int = 1
    # Recognition input width relative to PaddleX's (the CPU onnxruntime path only).
    rec_width_squeeze: float = 0.75
    # Detector input size policy (PaddleX limit_side_len / limit_type / max_side_limit).
    det_limit_side_len: int = 64
    det_limit_type: str = "min"
    det_max_side_limit: int = 4000
    # Image input limits (bad input must fail one task, never the process).
    max_image_pixels: int = 80_000_000
    max_image_bytes: int = 50 * 1024 * 1024
    image_fetch_timeout: float = 20.0
    block_private_urls: bool = False
    # Optional Basic auth in front of /predict, /setup and /webhook.
    basic_auth_user: str = ""
    basic_auth_pass: str = ""
    default_label: str = ""
    # One region per word (PaddleX return_word_box) instead of one per line.
    word_boxes: bool = False

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        r = _Reader(env)
        version = r.choice("PPOCR_VERSION", tuple(VERSION_VARIANTS), cls.ppocr_version)
        settings = cls(
            ppocr_version=version,
            model_variant=r.variant("MODEL_VARIANT", version),
            ocr_lang=r.language("OCR_LANG", version, cls.ocr_lang),
            device=r.device("DEVICE", cls.device),
            score_threshold=r.fraction("SCORE_THRESHOLD", cls.score_threshold),
            det_score_threshold=r.fraction("DET_SCORE_THRESHOLD", cls.det_score_threshold),
            output_type=r.choice("OUTPUT_TYPE", OUTPUT_TYPES, cls.output_type),
            include_transcription=r.flag("INCLUDE_TRANSCRIPTION", cls.include_transcription),
            use_doc_orientation=r.flag("USE_DOC_ORIENTATION", cls.use_doc_orientation),
            use_doc_unwarping=r.flag("USE_DOC_UNWARPING", cls.use_doc_unwarping),
            use_textline_orientation=r.flag("USE_TEXTLINE_ORIENTATION", cls.use_textline_orientation),
            label_studio_url=r.url("LABEL_STUDIO_URL", cls.label_studio_url),
            label_studio_api_key=r.text("LABEL_STUDIO_API_KEY", cls.label_studio_api_key),
            model_dir=r.text("MODEL_DIR", cls.model_dir),
            det_model_dir=r.text("DET_MODEL_DIR", cls.det_model_dir),
            rec_model_dir=r.text("REC_MODEL_DIR", cls.rec_model_dir),
            inference_engine=r.choice("INFERENCE_ENGINE", ENGINES, cls.inference_engine),
            cpu_threads=r.integer("CPU_THREADS", cls.cpu_threads, minimum=0),
            rec_batch_size=r.integer("REC_BATCH_SIZE", cls.rec_batch_size, minimum=1),
            rec_width_squeeze=r.number("REC_WIDTH_SQUEEZE", cls.rec_width_squeeze, minimum=0.3, maximum=1.0),
            det_limit_side_len=r.integer("DET_LIMIT_SIDE_LEN", cls.det_limit_side_len, minimum=32),
            det_limit_type=r.choice("DET_LIMIT_TYPE", ("max", "min"), cls.det_limit_type),
            det_max_side_limit=r.integer("DET_MAX_SIDE_LIMIT", cls.det_max_side_limit, minimum=32),
            max_image_pixels=r.integer("MAX_IMAGE_PIXELS", cls.max_image_pixels, minimum=1),
            max_image_bytes=r.integer("MAX_IMAGE_BYTES", cls.max_image_bytes, minimum=1),
            image_fetch_timeout=r.number("IMAGE_FETCH_TIMEOUT", cls.image_fetch_timeout, minimum=0.1),
            block_private_urls=r.flag("BLOCK_PRIVATE_URLS", cls.block_private_urls),
            basic_auth_user=r.text("BASIC_AUTH_USER", cls.basic_auth_user),
            basic_auth_pass=r.text("BASIC_AUTH_PASS", cls.basic_auth_pass),
            default_label=r.text("DEFAULT_LABEL", cls.default_label),
            word_boxes=r.flag("WORD_BOXES", cls.word_boxes),
        )
        if settings.label_studio_api_key and not settings.label_studio_url:
            # The key would otherwise pair with whatever hostname a /setup call names (D3).
            raise ConfigError("LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not: set "
                              "LABEL_STUDIO_URL to the Label Studio the key belongs to (e.g. "
                              "http://localhost:8080), or unset the key.")
        if bool(settings.basic_auth_user) != bool(settings.basic_auth_pass):
            raise ConfigError("BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together (or neither).")
        return settings

    @property
    def uses_gpu(self) -> bool:
        return self.device.startswith("gpu")

    @property
    def engine(self) -> str:
        """The inference engine actually used ('auto' resolved by device)."""
        if self.inference_engine != "auto":
            return self.inference_engine
        return "paddle" if self.uses_gpu else "onnxruntime"

    def threads(self) -> int:
        """CPU threads per worker: CPU_THREADS, else the cores this process may run on."""
        if self.cpu_threads:
            return self.cpu_threads
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)

    def public_summary(self) -> dict:
        """Settings safe to log: secrets are masked."""
        data = dataclasses.asdict(self)
        for key in ("label_studio_api_key", "basic_auth_pass"):
            if data[key]:
                data[key] = "***"
        return data


class _Reader:
    """Typed access to the environment; every error names the variable and the allowed values."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env

    def _raw(self, name):
        value = self.env.get(name)
        return None if value is None else value.strip()

    def text(self, name, default):
        value = self._raw(name)
        return default if value is None else value

    def choice(self, name, allowed, default):
        value = self._raw(name)
        if value is None or value == "":
            return default
        if value.lower() not in allowed:
            raise ConfigError(f"{name}={value!r} is not valid; use one of: {', '.join(allowed)}.")
        return value.lower()

    def variant(self, name, version):
        allowed = VERSION_VARIANTS[version]
        value = self._raw(name)
        if value is None or value == "":
            return allowed[0]
        if value.lower() not in allowed:
            raise ConfigError(f"{name}={value!r} is not a PP-OCR{version} variant (PPOCR_VERSION={version}); "
                              f"use one of: {', '.join(allowed)}.")
        return value.lower()

    def language(self, name, version, default):
        lang = self.choice(name, LANGUAGES, default)
        if version == "v6" and lang not in V6_LANGUAGES:
            raise ConfigError(f"{name}={lang!r} has no PP-OCRv6 recogniser (v6 reads Chinese, English and "
                              f"Japanese: {', '.join(V6_LANGUAGES)}); use PPOCR_VERSION=v5 for it.")
        return lang

    def flag(self, name, default):
        value = self._raw(name)
        if value is None:
            return default
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{name}={value!r} is not a boolean; use true or false.")

    def number(self, name, default, minimum=None, maximum=None):
        value = self._raw(name)
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a number.") from None
        if number != number or (minimum is not None and number < minimum) or (
                maximum is not None and number > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigError(f"{name}={value!r} is out of range; use a number {bounds}.")
        return number

    def fraction(self, name, default):
        return self.number(name, default, minimum=0.0, maximum=1.0)

    def integer(self, name, default, minimum=None):
        value = self._raw(name)
        if value is None or value == "":
            return default
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ConfigError(f"{name}={value!r} is not a whole number.")
        number = int(value)
        if minimum is not None and number < minimum:
            raise ConfigError(f"{name}={value!r} is out of range; use a whole number >= {minimum}.")
        return number

    def device(self, name, default):
        value = self._raw(name)
        if value is None or value == "":
            return default
        low = value.lower()
        if low == "cpu" or re.fullmatch(r"gpu:\d+", low):
            return low
        if low == "gpu":
            return "gpu:0"
        raise ConfigError(f"{name}={value!r} is not valid; use cpu or gpu:N (for example gpu:0).")

    def url(self, name, default):
        value = self._raw(name)
        if value is None or value == "":
            return default
        try:
            parsed = parse_url(value)
        except UrlError as exc:
            raise ConfigError(f"{name}={value!r} is not a usable http(s) URL ({exc}); use e.g. "
                              f"http://localhost:8080.") from None
        if parsed.userinfo or parsed.query:
            raise ConfigError(f"{name} must not hold credentials or a query string; use e.g. "
                              f"http://localhost:8080.")
        return value.rstrip("/")
