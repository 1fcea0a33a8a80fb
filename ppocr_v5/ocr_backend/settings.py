"""All configuration, parsed and validated once from the environment.

Every other module receives a `Settings` instance instead of reading os.environ, so an invalid
value stops start-up here with a message naming the variable, the value and what is allowed.

Each setting is one declaration on the `Settings` dataclass (`declare(...)`): its variable, how
its text is read (a `Kind`), its default, whether it changes predictions, whether it is a secret,
and the line the README table shows. Everything else is derived from those declarations:
`Settings.from_env`, the masked `public_summary`, the model_version digest
(labelstudio/versioning.py), the README table (`python -m ocr_backend.settings --readme README.md`)
and the Docker default checks (tests/test_docker.py).
"""

import argparse
import dataclasses
import os
import re
import sys
from typing import Any, ClassVar, Dict, Mapping, Optional, Sequence, Tuple

from ocr_backend.core.urls import parse_url
from ocr_backend.errors import ConfigError, UrlError

__all__ = [
    "ConfigError",
    "SERVER_VARIABLES",
    "SETTINGS",
    "Setting",
    "Settings",
    "replace_settings_table",
    "settings_table",
]

LANGUAGES = ("ch", "en", "arabic", "cyrillic", "devanagari", "el", "eslav", "korean", "latin", "ta", "te", "th")
VARIANTS = ("mobile", "server")
# PPOCR_VERSION -> its MODEL_VARIANT values (first = default). The sets are disjoint, so the variant
# alone names the model family (model_names.py relies on that).
VERSION_VARIANTS = {"v5": VARIANTS, "v6": ("small", "tiny", "medium")}
# PP-OCRv6 ships one recogniser (Chinese, English, Japanese); other languages stay on v5.
V6_LANGUAGES = ("ch", "en")
OUTPUT_TYPES = ("polygon", "rectangle")
ENGINES = ("auto", "paddle", "onnxruntime", "openvino")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_META = "ocr_backend.setting"  # the dataclass field metadata key holding a field's Setting


def _listed(values: Sequence[str]) -> str:
    quoted = [f"`{v}`" for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def env_text(value: Any) -> str:
    """A value as it is spelled in the environment (compose files, Dockerfile ENV, README)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --- how a variable's text becomes a value ----------------------------------------------------


class Kind:
    """How one variable's text becomes a value; every error names the variable, the value and the fix.

    `earlier` holds the settings already read (declaration order), for the few whose allowed values
    depend on another (MODEL_VARIANT and OCR_LANG on PPOCR_VERSION).
    """

    # An empty value means "unset" (compose passes VAR= for a host variable nobody set), except for
    # the kinds where empty is itself a value (text; a flag's "" has always read as false).
    blank_is_default: ClassVar[bool] = True

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def default(self, declared: Any, earlier: Mapping[str, Any]) -> Any:
        return declared

    def allowed(self) -> str:
        """The allowed values for the README (`{allowed}` in a declaration's doc)."""
        return ""


@dataclasses.dataclass(frozen=True)
class Text(Kind):
    blank_is_default: ClassVar[bool] = False

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        return raw


@dataclasses.dataclass(frozen=True)
class Flag(Kind):
    blank_is_default: ClassVar[bool] = False

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false.")

    def allowed(self) -> str:
        return "`true` or `false`"


@dataclasses.dataclass(frozen=True)
class Choice(Kind):
    values: Tuple[str, ...]

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        if raw.lower() not in self.values:
            raise ConfigError(f"{name}={raw!r} is not valid; use one of: {', '.join(self.values)}.")
        return raw.lower()

    def allowed(self) -> str:
        return _listed(self.values)


@dataclasses.dataclass(frozen=True)
class Variant(Kind):
    """MODEL_VARIANT: its values, and its default, are those of the PPOCR_VERSION read before it."""

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        version = earlier["ppocr_version"]
        allowed = VERSION_VARIANTS[version]
        if raw.lower() not in allowed:
            raise ConfigError(
                f"{name}={raw!r} is not a PP-OCR{version} variant (PPOCR_VERSION={version}); "
                f"use one of: {', '.join(allowed)}."
            )
        return raw.lower()

    def default(self, declared: Any, earlier: Mapping[str, Any]) -> Any:
        return VERSION_VARIANTS[earlier["ppocr_version"]][0]

    def allowed(self) -> str:
        return "; ".join(
            f"{version}: {_listed(values)} (default `{values[0]}`)" for version, values in VERSION_VARIANTS.items()
        )


@dataclasses.dataclass(frozen=True)
class Language(Choice):
    """OCR_LANG: any PP-OCRv5 language, but only those of v6's one recogniser under PPOCR_VERSION=v6."""

    values: Tuple[str, ...] = LANGUAGES

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        lang = super().parse(name, raw, earlier)
        if earlier["ppocr_version"] == "v6" and lang not in V6_LANGUAGES:
            raise ConfigError(
                f"{name}={lang!r} has no PP-OCRv6 recogniser (v6 reads Chinese, English and "
                f"Japanese: {', '.join(V6_LANGUAGES)}); use PPOCR_VERSION=v5 for it."
            )
        return lang


@dataclasses.dataclass(frozen=True)
class Number(Kind):
    minimum: Optional[float] = None
    maximum: Optional[float] = None

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        try:
            number = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number.") from None
        if (
            number != number
            or (self.minimum is not None and number < self.minimum)
            or (self.maximum is not None and number > self.maximum)
        ):
            bounds = f"between {self.minimum} and {self.maximum}" if self.maximum is not None else f">= {self.minimum}"
            raise ConfigError(f"{name}={raw!r} is out of range; use a number {bounds}.")
        return number


FRACTION = Number(minimum=0.0, maximum=1.0)


@dataclasses.dataclass(frozen=True)
class Integer(Kind):
    minimum: Optional[int] = None

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ConfigError(f"{name}={raw!r} is not a whole number.")
        number = int(raw)
        if self.minimum is not None and number < self.minimum:
            raise ConfigError(f"{name}={raw!r} is out of range; use a whole number >= {self.minimum}.")
        return number


@dataclasses.dataclass(frozen=True)
class Device(Kind):
    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        low = raw.lower()
        if low == "cpu" or re.fullmatch(r"gpu:\d+", low):
            return low
        if low == "gpu":
            return "gpu:0"
        raise ConfigError(f"{name}={raw!r} is not valid; use cpu or gpu:N (for example gpu:0).")

    def allowed(self) -> str:
        return "`cpu` or `gpu:N`"


@dataclasses.dataclass(frozen=True)
class Url(Kind):
    """A Label Studio base URL, read by the same strict parser that later decides where the key goes."""

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        try:
            parsed = parse_url(raw)
        except UrlError as exc:
            raise ConfigError(
                f"{name}={raw!r} is not a usable http(s) URL ({exc}); use e.g. http://localhost:8080."
            ) from None
        if parsed.userinfo or parsed.query:
            raise ConfigError(f"{name} must not hold credentials or a query string; use e.g. http://localhost:8080.")
        return raw.rstrip("/")


def label_studio_url(name: str, raw: str) -> str:
    """A Label Studio URL given elsewhere than the environment (a command's --url), read by the
    same rule as LABEL_STUDIO_URL: the host the key goes to is the host connected to."""
    return raw if not raw else Url().parse(name, raw.strip(), {})


# --- declarations -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Setting:
    """One environment variable: everything the code, the README and the Docker checks know of it."""

    env: str
    kind: Kind
    default: Any
    doc: str  # the README's Meaning cell; `{allowed}` is replaced by the kind's allowed values
    # Changes what a prediction contains, so it is part of model_version's digest.
    affects_predictions: bool = False
    secret: bool = False  # masked in public_summary
    shown_default: Optional[str] = None  # the README's Default cell when the value itself says little
    # The Settings attribute digested instead of the raw value (INFERENCE_ENGINE=auto is a different
    # engine per device; the version must name the one that runs).
    fingerprint: Optional[str] = None
    name: str = ""  # the Settings attribute; filled in from the dataclass field

    def read(self, env: Mapping[str, str], earlier: Mapping[str, Any]) -> Any:
        raw = env.get(self.env)
        if raw is not None:
            raw = raw.strip()
        if raw is None or (raw == "" and self.kind.blank_is_default):
            return self.kind.default(self.default, earlier)
        return self.kind.parse(self.env, raw, earlier)

    def default_cell(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        text = env_text(self.default)
        return f"`{text}`" if text else ""

    def meaning(self) -> str:
        return self.doc.replace("{allowed}", self.kind.allowed())


def declare(env: str, kind: Kind, default: Any, doc: str, **options: Any) -> Any:
    """A Settings field whose metadata is its Setting (typed Any so the annotation gives the type)."""
    return dataclasses.field(default=default, metadata={_META: Setting(env, kind, default, doc, **options)})


@dataclasses.dataclass(frozen=True)
class Settings:
    ppocr_version: str = declare(
        "PPOCR_VERSION",
        Choice(tuple(VERSION_VARIANTS)),
        "v5",
        "{allowed}: the PP-OCR generation (v6 reads `ch` and `en` only)",
        affects_predictions=True,
    )
    model_variant: str = declare("MODEL_VARIANT", Variant(), "mobile", "{allowed}", affects_predictions=True)
    ocr_lang: str = declare("OCR_LANG", Language(), "ch", "{allowed}", affects_predictions=True)
    # Not digested itself: a device changes predictions only by the engine `auto` picks for it, which
    # INFERENCE_ENGINE's fingerprint covers (gpu:0 and gpu:1 workers must agree on model_version).
    device: str = declare("DEVICE", Device(), "cpu", "{allowed} (`gpu:N` needs the CUDA build of PaddlePaddle)")
    score_threshold: float = declare(
        "SCORE_THRESHOLD", FRACTION, 0.5, "drop lines whose recognition score is lower", affects_predictions=True
    )
    det_score_threshold: float = declare(
        "DET_SCORE_THRESHOLD",
        FRACTION,
        0.6,
        "drop detected boxes whose score is lower (PaddleX `box_thresh`)",
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
    label_studio_url: str = declare(
        "LABEL_STUDIO_URL", Url(), "", "Label Studio base URL, for `/data/upload/...` images and cloud storage"
    )
    label_studio_api_key: str = declare(
        "LABEL_STUDIO_API_KEY",
        Text(),
        "",
        "legacy token or Personal Access Token (needs `LABEL_STUDIO_URL`)",
        secret=True,
    )
    # Weights: explicit folders win, then $MODEL_DIR/<model_name>/, then PaddleX's own download.
    # Not digested: the version names the models, and a path differs per machine (./models, /models).
    model_dir: str = declare(
        "MODEL_DIR", Text(), "", "folder of `<model_name>/` weight folders", shown_default="`./models` with make"
    )
    det_model_dir: str = declare(
        "DET_MODEL_DIR", Text(), "", "explicit detection weight folder (wins over `MODEL_DIR`)"
    )
    rec_model_dir: str = declare(
        "REC_MODEL_DIR", Text(), "", "explicit recognition weight folder (wins over `MODEL_DIR`)"
    )
    # auto: onnxruntime on CPU (fastest here), Paddle on GPU (CUDA build of paddlepaddle).
    inference_engine: str = declare(
        "INFERENCE_ENGINE",
        Choice(ENGINES),
        "auto",
        "{allowed}; `auto` is `onnxruntime` on CPU, `paddle` on GPU; `openvino`: CPU, the ONNX weights on OpenVINO",
        affects_predictions=True,
        fingerprint="engine",
    )
    cpu_threads: int = declare(
        "CPU_THREADS", Integer(minimum=0), 0, "inference threads per worker (0: one per core)", shown_default="cores"
    )
    # Batch 1 is cheapest per line on CPU (wide batches spill out of the cache; bench/research/FINDINGS.md).
    rec_batch_size: int = declare(
        "REC_BATCH_SIZE",
        Integer(minimum=1),
        1,
        "lines per recognition batch (PaddleX's own recogniser: GPU, `paddle`, word boxes, orientation or unwarping)",
    )
    rec_width_squeeze: float = declare(
        "REC_WIDTH_SQUEEZE",
        Number(minimum=0.3, maximum=1.0),
        # 0.9, not 0.75: 0.75 costs 6 CER points on scanned English pages (docs/speed.md's squeeze table).
        0.9,
        "recognition input width relative to PaddleX's (CPU onnxruntime path), 0.3 to 1",
        affects_predictions=True,
    )
    # Detector input size policy (PaddleX limit_side_len / limit_type / max_side_limit).
    det_limit_side_len: int = declare(
        "DET_LIMIT_SIDE_LEN",
        Integer(minimum=32),
        64,
        "detector input size: the side length PaddleX scales to (`limit_side_len`)",
        affects_predictions=True,
    )
    det_limit_type: str = declare(
        "DET_LIMIT_TYPE",
        Choice(("max", "min")),
        "min",
        "{allowed}: which side `DET_LIMIT_SIDE_LEN` bounds (PaddleX `limit_type`)",
        affects_predictions=True,
    )
    det_max_side_limit: int = declare(
        "DET_MAX_SIDE_LIMIT",
        Integer(minimum=32),
        4000,
        "cap on the detector input's longer side (PaddleX `max_side_limit`)",
        affects_predictions=True,
    )
    # Image input limits (bad input must fail one task, never the process).
    max_image_pixels: int = declare(
        # 50 MP, not 80: an A4 page at 600 dpi is 35 MP, and decoding takes 8 bytes/pixel at its peak
        # (docs/reliability.md "Memory"), so two of these fit IMAGE_PIXELS_IN_FLIGHT.
        "MAX_IMAGE_PIXELS",
        Integer(minimum=1),
        50_000_000,
        "refuse larger images before decoding them",
    )
    # Memory and time bounds per worker and per task (issue 14, D6/D8; docs/reliability.md has the figures).
    image_pixels_in_flight: int = declare(
        "IMAGE_PIXELS_IN_FLIGHT",
        Integer(minimum=1),
        100_000_000,
        "decoded pixels a worker holds at once over all requests (more wait; one image above it is refused)",
    )
    task_time_budget: float = declare(
        "TASK_TIME_BUDGET",
        Number(minimum=0.1),
        60.0,
        "seconds one task may take; past it the task stops at the next strip/batch boundary and fails "
        "(Label Studio gives up at 100 s)",
    )
    max_image_bytes: int = declare("MAX_IMAGE_BYTES", Integer(minimum=1), 50 * 1024 * 1024, "download size cap")
    image_fetch_timeout: float = declare(
        "IMAGE_FETCH_TIMEOUT", Number(minimum=0.1), 20.0, "seconds to connect / between bytes"
    )
    block_private_urls: bool = declare(
        "BLOCK_PRIVATE_URLS",
        Flag(),
        False,
        "refuse image URLs on private/loopback addresses (Label Studio itself stays allowed)",
    )
    # Optional Basic auth in front of /predict, /setup and /webhook.
    basic_auth_user: str = declare(
        "BASIC_AUTH_USER", Text(), "", "with `BASIC_AUTH_PASS`: require Basic auth on everything but `/health`"
    )
    basic_auth_pass: str = declare(
        "BASIC_AUTH_PASS", Text(), "", "the Basic auth password (both or neither)", secret=True
    )
    # HTTP bounds (web/limits.py): what one request may make a worker hold, and how many /predict
    # requests a worker holds at once, so that /health and /setup always find a free thread.
    max_request_bytes: int = declare(
        "MAX_REQUEST_BYTES",
        Integer(minimum=1024),
        64 * 1024 * 1024,
        "larger request bodies get 413 before they are read (a 100-task batch with its annotations is far below)",
    )
    predict_concurrency: int = declare(
        "PREDICT_CONCURRENCY", Integer(minimum=1), 2, "`/predict` requests a worker runs at once (the others wait)"
    )
    predict_queue: int = declare(
        "PREDICT_QUEUE",
        Integer(minimum=0),
        16,
        "`/predict` requests that may wait for a run slot; more get 503 with `Retry-After` "
        "(a waiting request holds a thread: at most `THREADS` - 1 are admitted in all)",
    )
    # Slow clients (web/slow_clients.py, gunicorn only): a request is read by the worker's main loop
    # and reaches a thread only once whole; these bound how long a connection may take to send it.
    request_header_timeout: float = declare(
        "REQUEST_HEADER_TIMEOUT",
        Number(minimum=0.5),
        10.0,
        "seconds a client has to send a request's line and headers (from the connection's opening, or the "
        "first byte on a kept-alive one); later: 408",
    )
    request_body_timeout: float = declare(
        "REQUEST_BODY_TIMEOUT",
        Number(minimum=1.0),
        60.0,
        "seconds a client has to send a request's body once its headers are in; later: 408 "
        "(a 15 MB 100-task batch with annotations and predictions fits at 2 Mbit/s)",
    )
    default_label: str = declare(
        "DEFAULT_LABEL",
        Text(),
        "",
        "the label given to each region (a tag's `predicted_values` wins)",
        affects_predictions=True,
        shown_default="first label",
    )
    # One region per word (PaddleX return_word_box) instead of one per line.
    word_boxes: bool = declare(
        "WORD_BOXES", Flag(), False, "one region per word instead of per line", affects_predictions=True
    )
    # Multi-page tasks (<Image valueList="$pages">): a bigger task is refused instead of running for an hour.
    max_pages_per_task: int = declare(
        "MAX_PAGES_PER_TASK", Integer(minimum=1), 200, "refuse multi-page tasks with more pages (empty prediction)"
    )
    # What OCR found on recently seen images (service/ocr_cache.py), keyed by the image's sha256 and
    # model_version: not digested, it never changes what a prediction contains, only how fast it comes.
    result_cache: bool = declare(
        "RESULT_CACHE", Flag(), True, "answer a repeated image from the OCR result cache (each request encoded anew)"
    )
    result_cache_entries: int = declare(
        "RESULT_CACHE_ENTRIES", Integer(minimum=1), 1024, "images the result cache holds per worker"
    )
    result_cache_bytes: int = declare(
        "RESULT_CACHE_BYTES",
        Integer(minimum=1),
        64 * 1024 * 1024,
        "memory the result cache may hold per worker (estimate)",
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

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        values: Dict[str, Any] = {}
        for setting in SETTINGS:  # declaration order: PPOCR_VERSION before the two that depend on it
            values[setting.name] = setting.read(env, values)
        settings = cls(**values)
        if settings.label_studio_api_key and not settings.label_studio_url:
            # The key would otherwise pair with whatever hostname a /setup call names (D3).
            raise ConfigError(
                "LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not: set "
                "LABEL_STUDIO_URL to the Label Studio the key belongs to (e.g. "
                "http://localhost:8080), or unset the key."
            )
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
        for setting in SETTINGS:
            if setting.secret and data[setting.name]:
                data[setting.name] = "***"
        return data


SETTINGS: Tuple[Setting, ...] = tuple(
    dataclasses.replace(f.metadata[_META], name=f.name) for f in dataclasses.fields(Settings)
)


# --- the README table -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ServerVariable:
    """A variable gunicorn.conf.py reads before the app exists: documented here, not parsed here."""

    env: str
    default: str
    doc: str


SERVER_VARIABLES = (
    ServerVariable("PORT", "9090", "gunicorn's port"),
    ServerVariable("WORKERS", "1", "gunicorn worker processes (each builds its own pipeline)"),
    ServerVariable(
        "THREADS",
        "8",
        "threads per worker: /health, /setup and up to THREADS - 1 waiting or running /predict (docs/reliability.md)",
    ),
    ServerVariable("LOG_LEVEL", "info", "gunicorn's log level"),
)
_TABLE_HEADING = "## Configuration"
# What a failing README check tells you to run (from the repository root).
README_FIX = ".venv/bin/python -m ocr_backend.settings --readme README.md"


def settings_table() -> str:
    """The README's "## Configuration" table: one row per declaration, then gunicorn's variables."""
    rows = [("Variable", "Default", "Meaning"), ("---", "---", "---")]
    rows += [(f"`{s.env}`", s.default_cell(), s.meaning()) for s in SETTINGS]
    rows += [(f"`{v.env}`", f"`{v.default}`", v.doc) for v in SERVER_VARIABLES]
    return "".join("| " + " | ".join(cells).replace("|  |", "| |") + " |\n" for cells in rows)


def replace_settings_table(readme: str) -> str:
    """`readme` with the first table under "## Configuration" replaced by `settings_table()`."""
    lines = readme.splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == _TABLE_HEADING)
    except StopIteration:
        raise ValueError(f"no {_TABLE_HEADING!r} heading") from None
    first = start + 1
    while first < len(lines) and not lines[first].startswith("|"):
        if lines[first].startswith("## "):
            raise ValueError(f"no table under {_TABLE_HEADING!r}")
        first += 1
    end = first
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[:first]) + settings_table() + "".join(lines[end:])


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Render the settings table from the declarations.")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the README's Configuration table")
    group.add_argument("--readme", metavar="PATH", help="rewrite the table inside PATH's Configuration section")
    args = ap.parse_args(argv)
    if args.markdown:
        sys.stdout.write(settings_table())
        return 0
    with open(args.readme, encoding="utf-8") as f:
        text = f.read()
    with open(args.readme, "w", encoding="utf-8") as f:
        f.write(replace_settings_table(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
