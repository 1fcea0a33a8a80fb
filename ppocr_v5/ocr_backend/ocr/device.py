"""Whether DEVICE can be used, checked before Paddle is asked to run on it."""

from ocr_backend.errors import ConfigError
from ocr_backend.settings import Settings


def check_device(settings: Settings) -> None:
    """Fail with a clear message (not a stack trace from inside Paddle) on an unusable DEVICE."""
    if not settings.uses_gpu:
        return
    if settings.engine in ("onnxruntime", "openvino"):
        raise ConfigError(
            f"DEVICE={settings.device} with INFERENCE_ENGINE={settings.engine} is not supported; "
            "use INFERENCE_ENGINE=paddle (or auto) with the CUDA build of paddlepaddle."
        )
    try:
        import paddle
    except ImportError:
        raise ConfigError(f"DEVICE={settings.device} needs paddlepaddle-gpu, which is not installed.") from None
    if not paddle.device.is_compiled_with_cuda():
        raise ConfigError(
            f"DEVICE={settings.device} needs a CUDA build of PaddlePaddle, but the installed paddlepaddle "
            f"{paddle.__version__} is CPU-only. Install paddlepaddle-gpu (see the GPU Docker image) or set DEVICE=cpu."
        )
    index = int(settings.device.split(":")[1])
    count = paddle.device.cuda.device_count()
    if index >= count:
        raise ConfigError(f"DEVICE={settings.device}: only {count} CUDA device(s) visible; use gpu:0..gpu:{count - 1}.")
