"""Use cases: /predict over a request's tasks (predict.py), the per-task step every path shares
(task_step.py) and reading the regions an annotator drew (interactive.py)."""
