"""`ppocr-v5` command line: whole-project pre-annotation, PDF import and export to PaddleOCR
training data.

Runs the backend's own code (ocr_backend/) outside the HTTP server (backend.py: its settings and
engine), talking to Label Studio through one client (ls_client.py: the SDK, and the REST helper
ls_rest.py for the call the SDK lacks)."""
