"""Interactive pre-annotation: recognise the regions an annotator drew (placeholder until issue 4 lands)."""
from .errors import TaskError


def predict_interactive(tasks, context, tags, engine, fetch, settings, version):
    raise TaskError("interactive mode is not implemented yet")
