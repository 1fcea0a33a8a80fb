"""decode_image: every input shape we can meet, generated in memory with Pillow."""

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from ocr_backend.errors import ImageDecodeError
from ocr_backend.images.decode import decode_image

LIMIT = 80_000_000
RED_BGR = [0, 0, 255]


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A few-byte PNG whose header claims width x height (grey, 8 bit); the data is a stub."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def near(pixel, expected, tolerance=0):
    return np.all(np.abs(np.asarray(pixel, int) - np.asarray(expected, int)) <= tolerance)


def test_rgb_png_becomes_contiguous_uint8_bgr():
    im = Image.new("RGB", (7, 5), (255, 0, 0))
    im.putpixel((6, 4), (0, 0, 255))
    out = decode_image(encode(im, "PNG"), LIMIT)
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert out[0, 0].tolist() == RED_BGR
    assert out[4, 6].tolist() == [255, 0, 0]  # blue in RGB is B=255 first in BGR


def _palette_image():
    im = Image.new("P", (4, 4), 1)
    im.putpalette([0, 0, 0, 10, 200, 30] + [0] * (256 * 3 - 6))
    return im


@pytest.mark.parametrize(
    "make, fmt, expected, tolerance",
    [
        (lambda: Image.new("L", (4, 4), 100), "PNG", [100, 100, 100], 0),
        (lambda: Image.new("1", (4, 4), 1), "PNG", [255, 255, 255], 0),
        (lambda: Image.new("1", (4, 4), 0), "BMP", [0, 0, 0], 0),
        (_palette_image, "PNG", [30, 200, 10], 0),
        (_palette_image, "GIF", [30, 200, 10], 0),
        # 16-bit grey: scaled like a browser (65535 -> 255, 32896 -> 128), not clipped to white.
        (lambda: Image.new("I;16", (4, 4), 65535), "PNG", [255, 255, 255], 0),
        (lambda: Image.new("I;16", (4, 4), 32896), "PNG", [128, 128, 128], 0),
        (lambda: Image.new("I;16", (4, 4), 32896), "TIFF", [128, 128, 128], 0),
        (lambda: Image.new("I", (4, 4), 32896), "TIFF", [128, 128, 128], 0),
        (lambda: Image.new("I", (4, 4), 77), "TIFF", [77, 77, 77], 0),
        (lambda: Image.new("F", (4, 4), 0.5), "TIFF", [128, 128, 128], 0),
        (lambda: Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", RED_BGR, 3),
        (lambda: Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "TIFF", RED_BGR, 0),
        (lambda: Image.new("RGB", (16, 16), (255, 0, 0)), "WEBP", RED_BGR, 8),
        (lambda: Image.new("RGB", (4, 4), (255, 0, 0)), "BMP", RED_BGR, 0),
    ],
)
def test_colour_modes_become_the_right_bgr(make, fmt, expected, tolerance):
    im = make()
    out = decode_image(encode(im, fmt, **({"lossless": True} if fmt == "WEBP" else {})), LIMIT)
    assert out.shape == (im.height, im.width, 3) and out.dtype == np.uint8
    assert near(out[1, 1], expected, tolerance), (fmt, im.mode, out[1, 1])


@pytest.mark.parametrize(
    "mode, transparent, opaque",
    [
        ("RGBA", (255, 0, 0, 0), (255, 0, 0, 255)),
        ("LA", (0, 0), (0, 255)),
    ],
)
def test_alpha_is_composited_on_white(mode, transparent, opaque):
    im = Image.new(mode, (3, 1), transparent)
    im.putpixel((1, 0), opaque)
    half = (255, 0, 0, 128) if mode == "RGBA" else (0, 128)
    im.putpixel((2, 0), half)
    out = decode_image(encode(im, "PNG"), LIMIT)
    assert out[0, 0].tolist() == [255, 255, 255]  # transparent -> the white page, not black
    assert out[0, 1].tolist() == (RED_BGR if mode == "RGBA" else [0, 0, 0])
    assert near(out[0, 2], [127, 127, 255] if mode == "RGBA" else [127, 127, 127], 1)


def test_palette_transparency_is_white():
    im = _palette_image()
    im.putpixel((0, 0), 0)
    out = decode_image(encode(im, "GIF", transparency=0), LIMIT)
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[1, 1].tolist() == [30, 200, 10]


def _exif_jpeg(orientation: int) -> bytes:
    """40 wide x 20 tall as stored, white with a red 10x10 block in the stored top-left."""
    im = Image.new("RGB", (40, 20), (255, 255, 255))
    im.paste((255, 0, 0), (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, "JPEG", quality=95, exif=exif.tobytes())


def test_exif_orientation_6_is_rotated_like_the_browser_shows_it():
    out = decode_image(_exif_jpeg(6), LIMIT)
    # Orientation 6: rotate 90 degrees clockwise to display; the stored top-left goes top-right.
    assert out.shape == (40, 20, 3)  # 20 wide, 40 high, as displayed
    assert near(out[3, 16], RED_BGR, 12)
    assert near(out[3, 3], [255, 255, 255], 12)
    assert near(out[36, 3], [255, 255, 255], 12)


def test_exif_orientation_3_is_upside_down():
    out = decode_image(_exif_jpeg(3), LIMIT)
    assert out.shape == (20, 40, 3)
    assert near(out[16, 36], RED_BGR, 12)
    assert near(out[3, 3], [255, 255, 255], 12)


def test_header_claiming_40000x40000_is_refused_fast():
    data = png_header_only(40_000, 40_000)
    assert len(data) < 200
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match="pixels"):
        decode_image(data, LIMIT)
    assert time.perf_counter() - start < 0.5


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_own_pixel_limit_checked_from_header_before_decoding():
    # 100 MP: below Pillow's own hard limit, so only our check stands in the way. The stub data
    # would fail to decode, so a "truncated" error here would mean we decoded first.
    with pytest.raises(ImageDecodeError, match=r"10000x10000 = 100000000 pixels.*MAX_IMAGE_PIXELS"):
        decode_image(png_header_only(10_000, 10_000), LIMIT)


def test_pixel_limit_boundary():
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    assert decode_image(data, 10_000).shape == (100, 100, 3)
    with pytest.raises(ImageDecodeError, match="above the limit of 9999"):
        decode_image(data, 9_999)


def _noise(width, height):
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_is_a_decode_error(fmt):
    data = encode(_noise(200, 200), fmt)
    with pytest.raises(ImageDecodeError, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2], LIMIT)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"hello, this is not an image at all", "not an image"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not an image"),  # no Ghostscript
        (b"\x89PNG\r\n\x1a\n", "not an image|header"),
        (b"", "empty"),
    ],
)
def test_non_images_are_decode_errors(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data, LIMIT)


def test_non_bytes_input_is_a_decode_error():
    with pytest.raises(ImageDecodeError, match="expected image bytes, got str"):
        decode_image("image.png", LIMIT)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = decode_image(data, LIMIT)
    assert out.shape == (8, 8, 3)
    assert out[4, 4].tolist() == RED_BGR


def test_multi_frame_tiff_gives_first_frame():
    first, second = Image.new("RGB", (6, 4), (255, 0, 0)), Image.new("RGB", (9, 9), (0, 0, 255))
    data = encode(first, "TIFF", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = decode_image(data, LIMIT)
    assert out.shape == (4, 6, 3)
    assert out[2, 2].tolist() == RED_BGR


def test_one_pixel_image():
    out = decode_image(encode(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG"), LIMIT)
    assert out.shape == (1, 1, 3)
    assert out[0, 0].tolist() == [3, 2, 1]


def test_tall_receipt_within_the_limit():
    im = Image.new("L", (300, 20_000), 255)
    im.paste(0, (0, 19_990, 300, 20_000))  # a black footer line at the very bottom
    out = decode_image(encode(im, "PNG"), LIMIT)
    assert out.shape == (20_000, 300, 3)
    assert out[19_995, 150].tolist() == [0, 0, 0]
    assert out[10_000, 150].tolist() == [255, 255, 255]
