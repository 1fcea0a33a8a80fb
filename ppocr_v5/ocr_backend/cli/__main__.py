"""`python -m ocr_backend.cli` runs the same command as .venv/bin/ppocr-v5."""

import sys

from ocr_backend.cli.main import main

sys.exit(main())
