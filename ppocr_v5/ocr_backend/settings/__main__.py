"""`python -m ocr_backend.settings --readme README.md`: rewrite the README's Configuration table."""

import sys

from ocr_backend.settings.readme import main

sys.exit(main())
