"""Serve the backend with label-studio-ml's stock Flask app, extended where Label Studio needs more.

Extensions (web/stock_app.py; the stock app stays in charge of routing, /health and /metrics):
- settings are validated at import: a bad value stops start-up with a message, not a traceback;
- /predict passes the request's label_config and params.context to the model (the stock 1.0.9
  view drops them) and answers malformed requests with 400 instead of 500;
- /setup returns the model's stable model_version (the stock app answers "INITIAL"), which is
  what every prediction carries, so Label Studio does not re-predict or duplicate;
- /webhook acknowledges events without acting on them (the stock view starts a training job for
  each), and /train says this backend does not train;
- optional Basic auth (BASIC_AUTH_USER / BASIC_AUTH_PASS) on everything but /health, checked
  before any body is read, like MAX_REQUEST_BYTES (413) and the /predict gate (503 + Retry-After,
  so /health always finds a thread);
- every answer JSON (stock /train, /is_training, /versions and error handlers replaced);
- log redaction (keys, auth headers, query strings) installed on the handlers configured here,
  bounded DEBUG request logging instead of label-studio-ml's whole-body dumps.
Run: `python _wsgi.py [--port 9090]`, `label-studio-ml start ./ppocr_v5`, or
`gunicorn --config gunicorn.conf.py _wsgi:app`.
"""

import argparse
import logging
import logging.config
import os
import sys

logging.config.dictConfig(
    {
        "version": 1,
        "disable_existing_loggers": False,  # loggers of modules imported earlier (tests, gunicorn) keep working
        "formatters": {"standard": {"format": "[%(asctime)s] [%(levelname)s] [%(name)s] %(message)s"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "standard"}
        },
        "root": {"level": os.environ.get("LOG_LEVEL", "INFO").upper(), "handlers": ["console"]},
    }
)

from label_studio_ml.api import init_app  # noqa: E402

from ocr_backend.ocr.engine import get_engine  # noqa: E402
from ocr_backend.settings import ConfigError  # noqa: E402
from ocr_backend.web.request_log import install_log_redaction  # noqa: E402
from ocr_backend.web.stock_app import extend_app  # noqa: E402

from model import PPOCRv5Backend, load_settings  # noqa: E402

try:
    SETTINGS = load_settings()
    install_log_redaction(SETTINGS)  # before anything logs a request, a URL or a key
    get_engine(SETTINGS)  # resolves and checks the model folders now; the weights load on first use
except ConfigError as exc:
    sys.stderr.write(f"ppocr_v5: configuration error: {exc}\n")
    sys.exit(2)

app = extend_app(init_app(model_class=PPOCRv5Backend), SETTINGS)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="PP-OCRv5 Label Studio ML backend")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("PORT", 9090)))
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("-d", "--debug", action="store_true")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args, _unknown = parser.parse_known_args()  # label-studio-ml start may pass extra flags
    if args.log_level:
        logging.root.setLevel(args.log_level)
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True)
