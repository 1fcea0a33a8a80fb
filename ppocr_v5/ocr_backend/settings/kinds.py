"""How one variable's text becomes a value (the kinds of setting), and how a value is spelled back.

Every error names the variable, the value and what is allowed.
"""

import dataclasses
import re
from typing import Any, ClassVar, Mapping, Optional, Sequence, Tuple

from ocr_backend.core.catalogue import LANGUAGES, V6_LANGUAGES, VERSION_VARIANTS
from ocr_backend.core.urls import parse_url
from ocr_backend.errors import ConfigError, UrlError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


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


class Kind:
    """How one variable's text becomes a value.

    `earlier` holds the settings already read (declaration order), for the few whose allowed values
    depend on another (MODEL_VARIANT and OCR_LANG on PPOCR_VERSION); `check` is that dependency
    alone, which Settings also runs on values given directly rather than read.
    """

    # An empty value means "unset" (compose passes VAR= for a host variable nobody set), except for
    # the kinds where empty is itself a value (text; a flag's "" has always read as false).
    blank_is_default: ClassVar[bool] = True

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def default(self, declared: Any, earlier: Mapping[str, Any]) -> Any:
        return declared

    def check(self, name: str, value: Any, others: Mapping[str, Any]) -> None:
        """Raise ConfigError when `value` contradicts the other settings (`others`, by attribute)."""

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
        """Any case; the value as declared (model names keep PaddleX's spelling)."""
        for value in self.values:
            if raw.lower() == value.lower():
                return value
        raise ConfigError(f"{name}={raw!r} is not valid; use one of: {', '.join(self.values)}.")

    def allowed(self) -> str:
        return _listed(self.values)


@dataclasses.dataclass(frozen=True)
class Variant(Kind):
    """MODEL_VARIANT: its values, and its default, are those of the PPOCR_VERSION read before it."""

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        self._refuse_other_versions(name, raw, raw.lower(), earlier)
        return raw.lower()

    def check(self, name: str, value: Any, others: Mapping[str, Any]) -> None:
        self._refuse_other_versions(name, value, value, others)

    @staticmethod
    def _refuse_other_versions(name: str, raw: str, value: str, others: Mapping[str, Any]) -> None:
        version = others["ppocr_version"]
        allowed = VERSION_VARIANTS[version]
        if value not in allowed:
            raise ConfigError(
                f"{name}={raw!r} is not a PP-OCR{version} variant (PPOCR_VERSION={version}); "
                f"use one of: {', '.join(allowed)}."
            )

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
        self.check(name, lang, earlier)
        return lang

    def check(self, name: str, value: Any, others: Mapping[str, Any]) -> None:
        if others["ppocr_version"] == "v6" and value not in V6_LANGUAGES:
            raise ConfigError(
                f"{name}={value!r} has no PP-OCRv6 recogniser (v6 reads Chinese, English and "
                f"Japanese: {', '.join(V6_LANGUAGES)}); use PPOCR_VERSION=v5 for it."
            )


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
    maximum: Optional[int] = None

    def parse(self, name: str, raw: str, earlier: Mapping[str, Any]) -> Any:
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ConfigError(f"{name}={raw!r} is not a whole number.")
        number = int(raw)
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            bounds = f"between {self.minimum} and {self.maximum}" if self.maximum is not None else f">= {self.minimum}"
            raise ConfigError(f"{name}={raw!r} is out of range; use a whole number {bounds}.")
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
