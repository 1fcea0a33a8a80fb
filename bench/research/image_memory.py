"""Memory per decoded image, through decode -> BGR -> the engine (issue 14, D6): prints figures.

For each size, a fresh process: the engine is warmed up on a small page, then an N-megapixel PNG
(white, a corpus page pasted in its corner, as a huge scan would look) is decoded and OCRed while
a thread samples RSS every 10 ms; then RSS after the arrays are freed, after malloc_trim, and
after the small page is read once more (the level the worker stays at). INFERENCE_ENGINE in the
environment picks the runtime (onnxruntime by default; openvino runs the detector on OpenVINO).

    .venv/bin/python bench/research/image_memory.py 10 40 80
    INFERENCE_ENGINE=openvino .venv/bin/python bench/research/image_memory.py 16
"""

import io
import json
import os
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child(megapixels: float) -> dict:
    import psutil
    from PIL import Image

    from ocr_backend.images.budget import release_memory
    from ocr_backend.images.decode import decode_image
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    proc = psutil.Process()
    corpus = "/work/shared/corpus/public/images"
    first = sorted(os.listdir(corpus))[0]
    page = Image.open(os.path.join(corpus, first)).convert("RGB")
    engine_name = os.environ.get("INFERENCE_ENGINE", "onnxruntime")
    settings = Settings.from_env({"MODEL_DIR": os.path.join(REPO, "models"), "INFERENCE_ENGINE": engine_name})
    engine = OcrEngine(settings)
    small = io.BytesIO()
    page.save(small, "PNG")
    engine.run(decode_image(small.getvalue(), settings.max_image_pixels))
    release_memory()
    base = proc.memory_info().rss

    side = int((megapixels * 1e6) ** 0.5)
    big = Image.new("RGB", (side, side), "white")
    big.paste(page, (0, 0))
    buf = io.BytesIO()
    big.save(buf, "PNG", compress_level=1)
    del big
    data = buf.getvalue()
    release_memory()
    start_rss = proc.memory_info().rss

    peak = [start_rss]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.01):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    image = decode_image(data, 10**10)
    decoded_peak = peak[0]
    held_after_decode = proc.memory_info().rss
    lines = len(engine.run(image).lines)
    seconds = time.monotonic() - t0
    stop.set()
    sampler.join()
    del image
    after_free = proc.memory_info().rss
    release_memory()
    after_trim = proc.memory_info().rss
    engine.run(decode_image(small.getvalue(), settings.max_image_pixels))
    after_page = proc.memory_info().rss
    mb = 1 / 2**20
    pixels = side * side
    return {
        "engine": engine_name,
        "megapixels": round(pixels / 1e6, 1),
        "lines": lines,
        "seconds": round(seconds, 1),
        "rss_warm_mb": round(base * mb),
        "decode_peak_bytes_per_pixel": round((decoded_peak - start_rss) / pixels, 2),
        "held_bytes_per_pixel": round((held_after_decode - start_rss) / pixels, 2),
        "run_peak_over_start_mb": round((peak[0] - start_rss) * mb),
        "run_peak_bytes_per_pixel": round((peak[0] - start_rss) / pixels, 2),
        "after_free_mb": round(after_free * mb),
        "after_malloc_trim_mb": round(after_trim * mb),
        "after_next_small_page_mb": round(after_page * mb),
    }


def main(sizes):
    for mp in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", mp], capture_output=True, text=True, cwd=REPO, check=False
        )
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-2000:]
        print(line, flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(float(sys.argv[2]))))
    else:
        main(sys.argv[1:] or ["10", "40", "80"])
