"""The process environment PaddleX reads when it is imported: thread counts and its cache folder."""

import os

from ocr_backend.settings import Settings


def prepare_environment(settings: Settings, env=os.environ) -> None:
    """Environment PaddleX reads at import time; must run before the first `import paddlex`."""
    threads = str(settings.threads())
    env.setdefault("PADDLE_PDX_CPU_NUM_THREADS", threads)  # PaddleX's default of 10 oversubscribes
    env.setdefault("OMP_NUM_THREADS", threads)
    cache = os.path.join(settings.model_dir, ".paddlex") if settings.model_dir else ""
    if cache:
        env.setdefault("PADDLE_PDX_CACHE_HOME", cache)
