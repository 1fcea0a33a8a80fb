"""Use cases: /predict over a request's tasks (predict.py), the per-task step every path shares
(task_step.py, and text_layer.py for pages with a stored PDF text layer), reading the regions an
annotator drew (interactive.py), the OCR result cache (ocr_cache.py) and stopping work nobody will
read (cancel.py)."""
