"""The backend as the commands run it: its settings, its model_version, its engine; where cli/ reads
the settings and builds the OCR engine (import-pdf's check of text layers builds its recogniser
in page_source.py).

The settings are the backend's own (the same environment variables), with the command line's
--url and --api-key on top, so a command predicts, versions and fetches images exactly as the
backend serving the same project does."""

import dataclasses
import os
from typing import Dict, Optional

from ocr_backend.core.catalogue import resolve_model_names
from ocr_backend.labelstudio.versioning import model_version
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.ocr.protocol import Engine
from ocr_backend.settings import Settings, label_studio_url


def settings_for(url: str, api_key: str, env: Optional[Dict[str, str]] = None) -> Settings:
    """The backend's settings from the environment, with the command line's URL and key on top."""
    settings = Settings.from_env(os.environ if env is None else env)
    return dataclasses.replace(
        settings,
        label_studio_url=label_studio_url("--url", url) if url else settings.label_studio_url,
        label_studio_api_key=api_key or settings.label_studio_api_key,
    )


def backend_version(settings: Settings) -> str:
    """What the backend's /setup answers for these settings."""
    return model_version(settings, resolve_model_names(settings.model_variant, settings.ocr_lang))


def build_engine(settings: Settings) -> Engine:
    """The default engine of every worker (a module-level function: a Job holding it pickles for
    process pools and Ray actors); the engine loads its models on first use."""
    return OcrEngine(settings)
