"""PP-OCRv5 pre-annotation backend for Label Studio: the LabelStudioMLBase subclass.

This module only wires the pieces of ocr_backend/ together: settings (env, validated once), the
OCR engine (built lazily, once per process), the request's label config and the image fetcher for
its Label Studio go into one TextLayerStep (service/text_layer.py: the TaskStep of
service/task_step.py, image -> OCR or drawn regions -> Label Studio results, with pages that carry
a stored PDF text layer answered from it), which service/predict.py runs over the request's tasks.
"""

import functools
import logging
from typing import List, Optional

from label_studio_ml.model import LabelStudioMLBase

from ocr_backend.images.fetchers import FetcherPool
from ocr_backend.labelstudio.label_config import fallback_tags, parse_label_config
from ocr_backend.labelstudio.versioning import model_version
from ocr_backend.ocr.engine import get_engine
from ocr_backend.ocr.recognizers import settle_second_model
from ocr_backend.service.ocr_cache import cache_for
from ocr_backend.service.predict import predict_tasks
from ocr_backend.service.text_layer import TextLayerStep
from ocr_backend.settings import Settings

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The process's settings, parsed from the environment once, the second recogniser settled
    (gunicorn's master settled it for every worker already: gunicorn.conf.py)."""
    settings = settle_second_model(Settings.from_env())
    logger.info("settings: %s", settings.public_summary())
    return settings


# One fetcher per credentials, so connection pools and exchanged PAT access tokens are reused;
# the least recently used of more than 16 is closed (images/fetchers.py).
_fetcher = FetcherPool(size=16).get


class PPOCRv5Backend(LabelStudioMLBase):
    """Pre-annotates images with text regions (Polygon/Rectangle + Labels + TextArea)."""

    def __init__(self, label_config=None, train_output=None, **kwargs):
        super().__init__(label_config=label_config, train_output=train_output, **kwargs)
        self.settings = load_settings()
        self.engine = get_engine(self.settings)  # cheap: the pipeline itself is built on first use
        self.model_version = model_version(self.settings, self.engine.names)

    def predict(
        self, tasks: List[dict], label_config: Optional[str] = None, context: Optional[dict] = None, **kwargs
    ) -> List[dict]:
        """One prediction per task, in task order. `label_config` is the one the request came with;
        a `context` with a `result` asks for the text of the regions drawn there (interactive)."""
        tags = parse_label_config(label_config or self.label_config or "", fallback_tags(self.settings))
        cache = cache_for(self.engine, self.settings)
        step = TextLayerStep(tags, self.engine, self.settings, self.model_version, context, cache)
        fetcher = _fetcher(self.settings, self.hostname or "", self.access_token or "")
        return predict_tasks(tasks, step, fetcher.fetch)
