"""Where the corpus is, the seed's label configs, and scoring against the ground truth."""

import functools
import importlib.util
import json
import math
import os

# support/ -> tests/ -> ppocr_v5/ -> the repository
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CORPUS = os.environ.get("CORPUS_DIR", os.path.join(os.path.dirname(REPO), "shared", "corpus"))
PUBLIC = os.path.join(CORPUS, "public")

os.environ.setdefault("MODEL_DIR", os.path.join(REPO, "models"))

POLYGON_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <Labels name="label" toName="image">
    <Label value="Text" background="green"/>
    <Label value="Handwriting" background="blue"/>
  </Labels>
  <Polygon name="poly" toName="image" strokeWidth="3"/>
  <TextArea name="transcription" toName="image" editable="true" perRegion="true" required="true"
            maxSubmissions="1" rows="5" placeholder="Recognized Text" displayMode="region-list"/>
</View>"""
RECTANGLE_CONFIG = POLYGON_CONFIG.replace('<Polygon name="poly"', '<Rectangle name="bbox"')


@functools.lru_cache(maxsize=1)
def scorer():
    """The corpus's own score.py, imported from ../shared/corpus."""
    spec = importlib.util.spec_from_file_location("corpus_score", os.path.join(CORPUS, "score.py"))
    assert spec is not None and spec.loader is not None, CORPUS
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_gt(page_id):
    with open(os.path.join(PUBLIC, "gt", f"{page_id}.json"), encoding="utf-8") as f:
        return json.load(f)


def corpus_pages(lang, count):
    """`count` pages of `lang`, spread evenly over the sorted list (so several documents, not one)."""
    with open(os.path.join(PUBLIC, "index.json"), encoding="utf-8") as f:
        pages = sorted(p["id"] for p in json.load(f)["pages"] if p["lang"] == lang)
    step = max(1, len(pages) // count)
    return pages[::step][:count]


def _corners(item):
    """Pixel corners of a polygon or (possibly rotated) rectangle result item."""
    value, w, h = item["value"], item["original_width"], item["original_height"]
    if "points" in value:
        return [(x * w / 100.0, y * h / 100.0) for x, y in value["points"]]
    x, y = value["x"] * w / 100.0, value["y"] * h / 100.0
    rw, rh = value["width"] * w / 100.0, value["height"] * h / 100.0
    a = math.radians(value.get("rotation", 0) or 0)
    cos, sin = math.cos(a), math.sin(a)
    # Label Studio rotates the rectangle clockwise about its top-left corner.
    return [(x + dx * cos - dy * sin, y + dx * sin + dy * cos) for dx, dy in ((0, 0), (rw, 0), (rw, rh), (0, rh))]


def result_to_lines(result):
    """[{points, text, score}] in pixels, one per region of a Label Studio result list."""
    regions: dict = {}
    for item in result:
        region = regions.setdefault(item["id"], {"text": ""})
        if item["type"] in ("polygon", "rectangle", "polygonlabels", "rectanglelabels"):
            region["points"] = _corners(item)
            region["score"] = item.get("score")
        elif item["type"] == "textarea":
            region["text"] = " ".join(item["value"]["text"])
    return [r for r in regions.values() if "points" in r]


def score_results(results_by_page):
    """score.py's summary (overall and by_lang) for {page_id: Label Studio result list}."""
    score = scorer()
    rows = []
    for page_id, result in results_by_page.items():
        preds = [{"box": score.to_box(line), "text": line["text"]} for line in result_to_lines(result)]
        rows.append(score.score_page(load_gt(page_id), preds))
    return score.summarize(rows)


def page_bytes(page_id: str) -> bytes:
    """The PNG file of a public corpus page."""
    with open(os.path.join(PUBLIC, "images", f"{page_id}.png"), "rb") as f:
        return f.read()
