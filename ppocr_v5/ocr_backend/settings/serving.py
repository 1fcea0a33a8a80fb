"""Declarations: what the service accepts and holds: Label Studio access, the bounds on images,
tasks and requests, Basic auth, the result cache. A new setting of that sort is declared here.
"""

import dataclasses

from ocr_backend.settings.declaration import declare
from ocr_backend.settings.kinds import Flag, Integer, Number, Text, Url


@dataclasses.dataclass(frozen=True)
class ServingSettings:
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
    # Image input limits (bad input must fail one task, never the process).
    max_image_pixels: int = declare(
        # 50 MP, not 80: an A4 page at 600 dpi is 35 MP, and decoding's peak bytes per pixel
        # (docs/reliability.md "Memory") make two of these fit IMAGE_PIXELS_IN_FLIGHT.
        "MAX_IMAGE_PIXELS",
        Integer(minimum=1),
        50_000_000,
        "refuse larger images before decoding them",
    )
    # Memory and time bounds per worker and per task (docs/reliability.md has the figures).
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
    # Multi-page tasks (<Image valueList="$pages">): a bigger task is refused instead of running for an hour.
    max_pages_per_task: int = declare(
        "MAX_PAGES_PER_TASK", Integer(minimum=1), 200, "refuse multi-page tasks with more pages (empty prediction)"
    )
    # Optional Basic auth; `/` and `/health` stay open (Label Studio's health checks send no credentials).
    basic_auth_user: str = declare(
        "BASIC_AUTH_USER",
        Text(),
        "",
        "with `BASIC_AUTH_PASS`: require Basic auth on everything but `/` and `/health`",
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
    # Slow clients (web/http_server.py, web/request_guard.py; gunicorn only): a request is read by the
    # worker's event loop and reaches a thread only once whole; these bound how long it may take.
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
