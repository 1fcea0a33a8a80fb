"""Turn downloaded bytes into the BGR pixel array PaddleX expects, as Label Studio shows it.

Label Studio draws regions on the image the browser displays, and browsers apply the EXIF
orientation, so we apply it too: otherwise every box on a phone photo lands rotated. The size is
checked from the header before any pixel is decoded, so a tiny file claiming huge dimensions
costs nothing.
"""

import io
import warnings
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageOps

from ocr_backend.errors import ImageDecodeError
from ocr_backend.images.budget import PixelBudget, Turn

# Formats a browser can display, plus TIFF (scanners). Others (EPS runs Ghostscript, exotic
# scientific formats) are not worth their attack surface for an OCR backend.
_WANTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "AVIF", "ICO", "TIFF")
Image.init()
FORMATS = tuple(f for f in _WANTED_FORMATS if f in Image.OPEN)

# We enforce max_pixels ourselves; Pillow's warning (above ~89 MP) would only be noise. Its hard
# error (above ~179 MP) stays in force and is reported like our own limit.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_WHITE = (255, 255, 255, 255)
_BAND_PIXELS = 1 << 20  # pixels copied from Pillow's image into the array at a time
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def decode_image(
    data: bytes, max_pixels: int, budget: Optional[Union[PixelBudget, Turn]] = None, wait: float = 60.0
) -> np.ndarray:
    """HxWx3 uint8 BGR array of the image's first frame, EXIF orientation applied.

    Its shape is (height, width) as Label Studio displays the image (EXIF orientation applied).
    Raises ImageDecodeError for anything that is not a decodable image within `max_pixels`.
    With a `budget` (images/budget.py: the worker's, or a turn at it), the pixels are taken from
    it before any is decoded (waiting at most `wait` s) and given back when the returned array is freed.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageDecodeError(f"expected image bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageDecodeError("the image is empty (0 bytes)")
    im = _open(data, max_pixels)
    if budget is None:
        return _decode(im)
    pixels = im.size[0] * im.size[1]
    try:
        budget.acquire(pixels, wait)
    except BaseException:
        im.close()
        raise
    try:
        image = _decode(im)
    except BaseException:
        budget.release(pixels)
        raise
    return budget.hold_until_freed(image, pixels)


def _decode(im: Image.Image) -> np.ndarray:
    """The opened image's pixels as BGR; closes `im`. The array is filled band by band from
    Pillow's image, so the peak is Pillow's copy (4 bytes/pixel for RGB, stored as RGBX; 1 for
    greyscale) plus the array's 3, not a third full copy; 3 bytes/pixel once it returns."""
    try:
        try:
            im.seek(0)  # multi-frame (GIF, TIFF): OCR the first frame, the one shown first
            im.load()
        except Image.DecompressionBombError as exc:
            raise ImageDecodeError(f"image refused: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise ImageDecodeError(
                f"cannot decode the {im.format} image ({_short(exc)}); the file is truncated or corrupt"
            ) from None
        im = _orient(im)
        return _to_bgr_array(im)
    finally:
        im.close()


def _open(data, max_pixels: int) -> Image.Image:
    """Parse the header only and enforce the pixel limit before anything is decoded."""
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"image refused: {exc} (MAX_IMAGE_PIXELS={max_pixels})") from None
    except Image.UnidentifiedImageError:
        raise ImageDecodeError(
            f"not an image in a supported format ({', '.join(FORMATS)}); first bytes: {bytes(data[:8])!r}"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"cannot read the image header ({_short(exc)})") from None
    width, height = im.size
    if width <= 0 or height <= 0:
        im.close()
        raise ImageDecodeError(f"the image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        im.close()
        raise ImageDecodeError(
            f"the image is {width}x{height} = {width * height} pixels, above the limit of "
            f"{max_pixels} (MAX_IMAGE_PIXELS)"
        )
    return im


def _orient(im: Image.Image) -> Image.Image:
    try:
        turned = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a broken EXIF block: browsers ignore it, so do we
        return im
    if turned is not im:
        im.close()
    return turned


def _to_bgr_array(im: Image.Image) -> np.ndarray:
    """HxWx3 uint8 BGR (PaddleX follows OpenCV), C-contiguous, with transparency composited on
    white (Label Studio's background)."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _grey_to_bgr(_deep_to_uint8(np.asarray(im), mode))
    if mode in _ALPHA_MODES or (mode in ("P", "L", "RGB") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE)
        rgb = Image.alpha_composite(background, rgba).convert("RGB")
        rgba.close()
        background.close()
    elif mode == "L":  # greyscale scans: no 4-byte RGB copy in Pillow
        return _grey_to_bgr(np.asarray(im))
    elif mode == "RGB":
        rgb = im
    else:  # 1, P, CMYK, YCbCr...
        try:
            rgb = im.convert("RGB")
        except (ValueError, OSError) as exc:
            raise ImageDecodeError(f"unsupported colour mode {mode} ({_short(exc)})") from None
    try:
        return _bgr_in_bands(rgb, mode)
    finally:
        if rgb is not im:
            rgb.close()


def _grey_to_bgr(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, None], 3, axis=2)


def _bgr_in_bands(rgb: Image.Image, mode: str) -> np.ndarray:
    width, height = rgb.size
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, _BAND_PIXELS // width)
    for top in range(0, height, rows):
        band = np.asarray(rgb.crop((0, top, width, min(height, top + rows))), dtype=np.uint8)
        if band.ndim != 3 or band.shape[2] != 3:
            raise ImageDecodeError(f"unexpected pixel layout {band.shape} for mode {mode}")
        out[top : top + band.shape[0]] = band[:, :, ::-1]
    return out


def _deep_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale 16/32-bit or float grey levels to 8 bits the way a viewer would.

    Pillow's own convert() clips them to 255, which turns most 16-bit scans white.
    """
    peak = float(np.nanmax(values)) if values.size else 0.0
    values = values.astype(np.float32)  # float32, not 64: an 80 MP scan stays at 320 MB
    if mode.startswith("I;16") or (mode == "I" and peak > 255):
        values = np.clip(values, 0, 65535) / 257.0  # 16-bit range, as browsers show it
    elif mode == "F" and peak <= 1.0:
        values = values * 255.0  # float images in [0, 1]
    return np.clip(np.nan_to_num(values), 0, 255).round().astype(np.uint8)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"
