"""Scenarios 1 and 2: "Retrieve predictions" on uploaded pages, Polygon and Rectangle configs.

One backend (OUTPUT_TYPE unset) serves both projects: the geometry must follow each project's
label config. Each project: upload 2 en + 2 zh pages, connect the backend, run the Data Manager
action, then check what Label Studio stored."""

import pytest

from harness.common import (
    EN_PAGES,
    POLYGON_CONFIG,
    RECTANGLE_CONFIG,
    ZH_PAGES,
    new_project,
    page_gt,
    page_image,
    single,
)
from harness.regions import group_regions, lines_for_scoring, score_pages

PAGES = EN_PAGES + ZH_PAGES
CONFIGS = {"polygon": (POLYGON_CONFIG, "polygon", "poly"), "rectangle": (RECTANGLE_CONFIG, "rectangle", "bbox")}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def predicted(request, label_studio, backend):
    """A project whose tasks went through one "Retrieve predictions"."""
    config, geometry_type, geometry_name = CONFIGS[request.param]
    ls = label_studio.api
    ids = new_project(ls, f"e2e retrieve {request.param}", config, backend)
    task_ids = ls.upload_files(ids["project"], [page_image(p) for p in PAGES])
    assert len(task_ids) == len(PAGES)
    tasks = {t["id"]: t for t in ls.tasks(ids["project"])}
    # Uploaded files are served by LS itself, behind auth: the backend has to present the API key.
    assert all(t["data"]["image"].startswith("/data/upload/") for t in tasks.values()), tasks
    page_of = {tid: next(p for p in PAGES if tasks[tid]["data"]["image"].endswith(f"-{p}.png")) for tid in task_ids}
    ls.retrieve_predictions(ids["project"], task_ids)
    return dict(
        ids,
        kind=request.param,
        config=config,
        geometry_type=geometry_type,
        geometry_name=geometry_name,
        task_ids=task_ids,
        page_of=page_of,
        preds=ls.predictions_by_task(ids["project"]),
    )


def test_every_task_gets_exactly_one_prediction(predicted):
    assert sorted(predicted["preds"]) == sorted(predicted["task_ids"])
    for tid in predicted["task_ids"]:
        pred = single(predicted["preds"][tid])
        assert pred["result"], f"task {tid} ({predicted['page_of'][tid]}): empty prediction"
        assert 0 < pred["score"] <= 1, pred["score"]


def test_model_version_is_the_setup_answer(predicted, backend, label_studio):
    version = backend.setup_version(predicted["config"])
    assert {single(p)["model_version"] for p in predicted["preds"].values()} == {version}
    ml = label_studio.api.ml_backend(predicted["ml"])
    assert ml["model_version"] == version, ml


def test_regions_are_linked_geometry_label_transcription(predicted):
    for tid in predicted["task_ids"]:
        result = single(predicted["preds"][tid])["result"]
        gt = page_gt(predicted["page_of"][tid])
        regions = group_regions(result)
        assert len(regions) >= 5, f"{predicted['page_of'][tid]}: only {len(regions)} regions"
        for rid, items in regions.items():
            assert set(items) == {predicted["geometry_type"], "labels", "textarea"}, (rid, sorted(items))
            geo = items[predicted["geometry_type"]]
            assert geo["from_name"] == predicted["geometry_name"] and geo["to_name"] == "image"
            assert items["labels"]["from_name"] == "label" and items["labels"]["value"]["labels"] == ["Text"]
            assert items["textarea"]["from_name"] == "transcription"
            assert [t for t in items["textarea"]["value"]["text"] if t.strip()], (rid, items["textarea"])
            # Every item carries the PNG's own size (the percent coordinates are relative to it).
            sizes = {(i["original_width"], i["original_height"]) for i in items.values()}
            assert sizes == {(gt["width"], gt["height"])}, sizes


@pytest.mark.parametrize("pages", [EN_PAGES, ZH_PAGES], ids=["en", "zh"])
def test_text_quality_against_ground_truth(predicted, pages, corpus_score_log):
    by_page = {
        predicted["page_of"][tid]: lines_for_scoring(single(predicted["preds"][tid])["result"])
        for tid in predicted["task_ids"]
    }
    summary = score_pages(corpus_score_log["corpus"], {p: by_page[p] for p in pages})["overall"]
    corpus_score_log["rows"].append((predicted["kind"], pages, summary))
    assert summary["f1"] >= 0.85 and summary["cer"] <= 0.06, summary


def test_retrieving_again_adds_no_duplicates(predicted, label_studio):
    ls = label_studio.api
    ls.retrieve_predictions(predicted["project"], predicted["task_ids"])
    again = ls.predictions_by_task(predicted["project"])
    assert {tid: [p["id"] for p in ps] for tid, ps in again.items()} == {
        tid: [p["id"] for p in ps] for tid, ps in predicted["preds"].items()
    }
