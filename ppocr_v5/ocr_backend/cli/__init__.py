"""`ppocr-v5` command line: whole-project pre-annotation and export to PaddleOCR training data.

Runs the backend's own code (ocr_backend/) outside the HTTP server, talking to Label Studio
through its SDK."""
