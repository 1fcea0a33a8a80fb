"""`Settings`: every declaration group in one frozen value, read from the environment and checked
as a whole (the cross-field rules run on every construction, however the value is made).
"""

import dataclasses
import os
from typing import Any, Dict, Mapping, Optional, Tuple

from ocr_backend.errors import ConfigError
from ocr_backend.settings.declaration import Setting, declarations, read_env
from ocr_backend.settings.inference import InferenceSettings
from ocr_backend.settings.prediction import PredictionSettings
from ocr_backend.settings.serving import ServingSettings


# Field order is the groups' in reverse: prediction, inference, serving (the README table's order).
@dataclasses.dataclass(frozen=True)
class Settings(ServingSettings, InferenceSettings, PredictionSettings):
    def __post_init__(self) -> None:
        values = self._values()
        for setting in SETTINGS:  # the kinds whose allowed values depend on another setting
            setting.kind.check(setting.env, values[setting.name], values)
        if self.label_studio_api_key and not self.label_studio_url:
            # The key would otherwise pair with whatever hostname a /setup call names (D3).
            raise ConfigError(
                "LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not: set "
                "LABEL_STUDIO_URL to the Label Studio the key belongs to (e.g. "
                "http://localhost:8080), or unset the key."
            )
        if bool(self.basic_auth_user) != bool(self.basic_auth_pass):
            raise ConfigError("BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together (or neither).")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        return cls(**read_env(SETTINGS, os.environ if env is None else env))

    def _values(self) -> Dict[str, Any]:
        return {setting.name: getattr(self, setting.name) for setting in SETTINGS}

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
        data = self._values()
        for setting in SETTINGS:
            if setting.secret and data[setting.name]:
                data[setting.name] = "***"
        return data


SETTINGS: Tuple[Setting, ...] = declarations(Settings)
