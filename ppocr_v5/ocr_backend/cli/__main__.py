"""`python -m cli` (from ppocr_v5/) runs the same command as .venv/bin/ppocr-v5."""

import sys

from ocr_backend.cli.main import main

sys.exit(main())
