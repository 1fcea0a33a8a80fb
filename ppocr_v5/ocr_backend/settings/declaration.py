"""One setting declared as data (`declare`), and the reading of a dataclass of them from an environment."""

import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple

from ocr_backend.settings.kinds import Kind, env_text

_META = "ocr_backend.setting"  # the dataclass field metadata key holding a field's Setting


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
    name: str = ""  # the dataclass attribute; filled in from the field

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
    """A dataclass field whose metadata is its Setting (typed Any so the annotation gives the type)."""
    return dataclasses.field(default=default, metadata={_META: Setting(env, kind, default, doc, **options)})


def declarations(cls: type) -> Tuple[Setting, ...]:
    """The Settings of a dataclass made of `declare`d fields, in field order, each named for its field."""
    return tuple(dataclasses.replace(f.metadata[_META], name=f.name) for f in dataclasses.fields(cls))


def read_env(declared: Tuple[Setting, ...], env: Mapping[str, str]) -> Dict[str, Any]:
    """Each declaration's value read from `env`, by attribute name, in declaration order (a kind
    whose values depend on another setting sees those declared before it)."""
    values: Dict[str, Any] = {}
    for setting in declared:
        values[setting.name] = setting.read(env, values)
    return values
