"""`ppocr-v5` command line: whole-project pre-annotation, PDF import and export to PaddleOCR
training data.

Runs the backend's own code (ocr_backend/) outside the HTTP server, talking to Label Studio
through its SDK (ls_project.py) and, for the calls the SDK lacks, a small REST helper (ls_rest.py)."""
