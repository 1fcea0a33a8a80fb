"""Reading Label Studio results back: link items into regions, convert to pixels, score vs the corpus GT."""

import importlib.util
import json
import math
from pathlib import Path
from typing import Dict, List

GEOMETRY_TYPES = ("polygon", "rectangle", "polygonlabels", "rectanglelabels")


def group_regions(result: List[dict]) -> Dict[str, Dict[str, dict]]:
    """{region id: {item type: item}}; a region's geometry, label and transcription share one id."""
    regions: Dict[str, Dict[str, dict]] = {}
    for item in result:
        by_type = regions.setdefault(item["id"], {})
        assert item["type"] not in by_type, f"region {item['id']} has two {item['type']} items"
        by_type[item["type"]] = item
    return regions


def to_pixels(item: dict) -> List[List[float]]:
    """A geometry item's outline in image pixels (percent points scaled by original_width/height)."""
    w, h = item["original_width"], item["original_height"]
    v = item["value"]
    if item["type"].startswith("polygon"):
        return [[x * w / 100.0, y * h / 100.0] for x, y in v["points"]]
    # LS rotates a rectangle clockwise (y points down) by `rotation` degrees about its (x, y) corner.
    x0, y0 = v["x"] * w / 100.0, v["y"] * h / 100.0
    rw, rh = v["width"] * w / 100.0, v["height"] * h / 100.0
    a = math.radians(v.get("rotation") or 0.0)
    cos, sin = math.cos(a), math.sin(a)
    return [[x0 + dx * cos - dy * sin, y0 + dx * sin + dy * cos] for dx, dy in ((0, 0), (rw, 0), (rw, rh), (0, rh))]


def lines_for_scoring(result: List[dict]) -> List[dict]:
    """score.py prediction entries ({"points", "text"}) for every region with geometry and text."""
    out = []
    for region in group_regions(result).values():
        geo = next((region[t] for t in GEOMETRY_TYPES if t in region), None)
        if geo is None or "textarea" not in region:
            continue
        out.append({"points": to_pixels(geo), "text": " ".join(region["textarea"]["value"]["text"])})
    return out


def load_scorer(corpus: Path):
    """The corpus's own score.py (its metric definitions are the reference, not re-implemented here)."""
    spec = importlib.util.spec_from_file_location("corpus_score", corpus / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def score_pages(corpus: Path, pages: Dict[str, List[dict]]) -> dict:
    """{page id: score.py entries} -> score.py summary (overall + by_lang)."""
    scorer = load_scorer(corpus)
    rows = []
    for page_id, preds in pages.items():
        gt = json.loads((corpus / "public" / "gt" / f"{page_id}.json").read_text())
        boxes = [{"box": scorer.to_box(p), "text": p["text"]} for p in preds]
        rows.append(scorer.score_page(gt, boxes))
    return scorer.summarize(rows)
