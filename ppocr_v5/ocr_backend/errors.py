"""Error types shared across modules.

TaskError and its subclasses fail one task only: the task gets an empty prediction and a log line
with its id and the reason, and the rest of the batch goes on. Their messages must be safe to log
(never a token or a signed URL's query string).
"""


class TaskError(Exception):
    """This task cannot be predicted; `str(exc)` is the reason shown in the log."""


class ImageFetchError(TaskError):
    """The image could not be downloaded (bad URL, refused scheme, HTTP error, timeout, too big)."""


class ImageDecodeError(TaskError):
    """The bytes are not an image we can OCR (not an image, truncated, too many pixels)."""


class LabelConfigError(ValueError):
    """The project's label config lacks the tags this backend needs; raised per request."""


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message says how to fix it."""
