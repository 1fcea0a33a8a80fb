"""Every error type of the backend, in one tree.

TaskError and its subclasses fail one task only: the task gets an empty prediction and a log line
with its id and the reason, and the rest of the batch goes on. Their messages must be safe to log
(never a token or a signed URL's query string). ConfigError and its subclasses are settings or
weights nobody can predict with: start-up stops (the server) or the run stops (the command).
LabelConfigError and BadRequest are the request's fault: HTTP 422 / 400.
"""


class TaskError(Exception):
    """This task cannot be predicted; `str(exc)` is the reason shown in the log."""


class ImageFetchError(TaskError):
    """The image could not be downloaded (bad URL, refused scheme, HTTP error, timeout, too big)."""


class UrlError(ImageFetchError):
    """The URL is malformed or ambiguous; the message says why without echoing secrets."""


class LabelStudioAuthError(ImageFetchError):
    """The API key cannot be turned into a usable header; the message says what to fix."""


class ImageDecodeError(TaskError):
    """The bytes are not an image we can OCR (not an image, truncated, too many pixels)."""


class TaskTimeout(TaskError):
    """The task ran past TASK_TIME_BUDGET; it stopped at the next strip or batch boundary."""


class ImageBudgetError(TaskError):
    """The decoded image would not fit the worker's IMAGE_PIXELS_IN_FLIGHT budget, even alone, or
    the budget stayed full for too long."""


class LabelConfigError(ValueError):
    """The project's label config lacks the tags this backend needs; raised per request."""


class BadRequest(Exception):
    """A malformed HTTP request (not JSON, wrong types); answered with 400 and the message."""


class ConfigError(ValueError):
    """A setting, or a command's argument or input file, has a value we cannot use; the message
    says how to fix it (the commands' usage error, exit status 2)."""


class ModelUnavailableError(ConfigError):
    """A model the settings need is neither in MODEL_DIR nor downloadable from here."""


class ModelFolderError(ConfigError):
    """A model folder is missing, incomplete or holds another model."""


class RunAborted(ConfigError):
    """The engine cannot run with these settings (e.g. weights missing): stop instead of failing every task."""


class PdfError(Exception):
    """A PDF cannot be rasterised (empty file, encrypted, corrupt, no pages): `ppocr-v5 import-pdf`
    reports it by name and skips it; the other files go on."""


class LabelStudioApiError(Exception):
    """Label Studio's REST API refused or failed a call; the message names the call and its status."""
