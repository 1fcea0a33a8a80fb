"""A page fed sideways, pre-annotated with orientation on (the provisioned models, offline): Label
Studio stores regions on the page as uploaded, and a real browser draws them where the text is.

The upload is a corpus page turned a quarter turn counter-clockwise in the test; its ground truth is
turned the same way (closed form), and both the stored prediction and what the editor holds are
scored against it with the corpus's score.py. Leaves artifacts/e2e/sideways-task.png to look at."""

import numpy as np
from PIL import Image

from harness.common import (
    CORPUS,
    EN_PAGES,
    POLYGON_CONFIG,
    new_project,
    page_gt,
    page_image,
    run_browser_script,
    single,
)
from harness.regions import lines_for_scoring, load_scorer

PAGE = EN_PAGES[0]


def turned_gt(gt: dict) -> dict:
    """The GT on the page turned a quarter turn counter-clockwise: (x, y) -> (y, width - x)."""
    lines = []
    for line in gt["lines"]:
        x0, y0, x1, y1 = line["bbox"]
        lines.append(dict(line, bbox=[y0, gt["width"] - x1, y1, gt["width"] - x0], bbox_ink=None))
    return dict(gt, width=gt["height"], height=gt["width"], lines=lines)


def scored(scorer, gt: dict, result: list) -> dict:
    preds = [{"box": scorer.to_box(p), "text": p["text"]} for p in lines_for_scoring(result)]
    return scorer.summarize([scorer.score_page(gt, preds)])["overall"]


def test_a_sideways_page_is_pre_annotated_where_its_text_is(label_studio, backends, artifacts, tmp_path):
    backend = backends("orientation", USE_DOC_ORIENTATION="true", USE_TEXTLINE_ORIENTATION="true")
    sideways = tmp_path / f"{PAGE}-sideways.png"
    Image.fromarray(np.rot90(np.asarray(Image.open(page_image(PAGE)).convert("RGB")))).save(sideways)
    gt = turned_gt(page_gt(PAGE))
    assert Image.open(sideways).size == (gt["width"], gt["height"])

    ls = label_studio.api
    ids = new_project(ls, "e2e sideways", POLYGON_CONFIG, backend)
    (task_id,) = ls.upload_files(ids["project"], [sideways])
    ls.retrieve_predictions(ids["project"], [task_id])
    pred = single(ls.predictions_by_task(ids["project"])[task_id])
    scorer = load_scorer(CORPUS)
    stored = scored(scorer, gt, pred["result"])
    # Upright, this page reads at F1 0.98 (harness/common.py); turned, with orientation on, alike.
    assert stored["f1"] >= 0.9 and stored["cer"] <= 0.05, stored
    assert all(item["original_width"] == gt["width"] for item in pred["result"])

    shot = artifacts / "sideways-task.png"
    shot.unlink(missing_ok=True)
    seen = run_browser_script(label_studio, "browser_regions.py", ids["project"], task_id, str(shot))
    assert seen["loaded"] and seen["size"] == [gt["width"], gt["height"]]
    # What the editor holds and draws over the sideways image: the same regions, on the text.
    drawn = scored(scorer, gt, seen["result"])
    assert drawn["f1"] >= 0.9 and drawn["n_pred"] == stored["n_pred"], (drawn, stored)
    assert shot.stat().st_size > 20_000
