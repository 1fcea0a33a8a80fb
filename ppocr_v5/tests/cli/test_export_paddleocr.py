"""`ppocr-v5 export`: Label Studio regions -> PaddleOCR det labels, rec crops and a seeded split.

Fast tests draw two-coloured boxes (red left half, blue right half) so a crop shows whether it came
out upright and unmirrored; the slow one converts corpus ground truth to Label Studio regions
(scrambled 4-point polygons on the upright page, rotated rectangles on a turned copy), exports it
and reads every crop back with the real recogniser."""

import json
import os

import cv2
import numpy as np
import pytest

from ocr_backend.cli import main as cli_main
from ocr_backend.cli.paddleocr_dataset import det_entry, export_tasks, line_crop, val_ids
from ocr_backend.core.geometry import page_rotation_matrix, rect_corners
from ocr_backend.labelstudio.decode import pick_result, regions

from tests.support.corpus import PUBLIC, load_gt, scorer

RED, BLUE = (0, 0, 255), (255, 0, 0)
W, H = 400, 300


def _two_tone(corners, image=None):
    """Paint the quad tl, tr, br, bl: left half red, right half blue."""
    image = np.full((H, W, 3), 255, np.uint8) if image is None else image
    tl, tr, br, bl = [np.asarray(p, float) for p in corners]
    top_mid, bottom_mid = (tl + tr) / 2, (bl + br) / 2
    cv2.fillPoly(image, [np.round([tl, top_mid, bottom_mid, bl]).astype(np.int32)], RED)
    cv2.fillPoly(image, [np.round([top_mid, tr, br, bottom_mid]).astype(np.int32)], BLUE)
    return image


def _assert_red_then_blue(crop, width, height):
    assert abs(crop.shape[1] - width) <= 2 and abs(crop.shape[0] - height) <= 2, crop.shape
    inner = crop[3:-3, 3:-3].astype(float)
    left, right = inner[:, : inner.shape[1] // 3].mean((0, 1)), inner[:, -inner.shape[1] // 3 :].mean((0, 1))
    assert np.abs(left - RED).max() < 40 and np.abs(right - BLUE).max() < 40, (left, right)


def _item(rid, kind, value, name):
    return {
        "id": rid,
        "type": kind,
        "from_name": name,
        "to_name": "image",
        "value": value,
        "original_width": W,
        "original_height": H,
    }


def test_rotated_rectangle_is_cut_upright_in_label_studio_convention():
    corner, w, h, rotation = (100.0, 60.0), 150.0, 36.0, 25.0  # clockwise about the top-left corner
    image = _two_tone(rect_corners(corner, w, h, rotation))
    value = {
        "x": corner[0] / W * 100,
        "y": corner[1] / H * 100,
        "width": w / W * 100,
        "height": h / H * 100,
        "rotation": rotation,
    }
    result = [_item("r1", "rectangle", value, "bbox"), _item("r1", "textarea", {"text": ["hello"]}, "transcription")]
    (region,) = regions(result, W, H)
    assert region.rectangle and region.text == "hello"
    _assert_red_then_blue(line_crop(image, region), w, h)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_four_point_polygon_in_any_order_is_rectified(start):
    corners = rect_corners((120.0, 150.0), 140.0, 30.0, 348.0)  # tilted 12 degrees anticlockwise
    image = _two_tone(corners)
    ring = corners[start:] + corners[:start]
    points = [[x / W * 100, y / H * 100] for x, y in reversed(ring)]  # anticlockwise, any first corner
    (region,) = regions([_item("p", "polygonlabels", {"points": points, "polygonlabels": ["Text"]}, "poly")], W, H)
    assert not region.rectangle and region.text is None
    _assert_red_then_blue(line_crop(image, region), 140, 30)


def test_vertical_line_crops_are_turned_like_paddleocr_does():
    image = _two_tone([(200, 40), (230, 40), (230, 200), (200, 200)])  # 30 x 160: a vertical line
    value = {"x": 50.0, "y": 40 / H * 100, "width": 30 / W * 100, "height": 160 / H * 100, "rotation": 0}
    (region,) = regions([_item("v", "rectangle", value, "bbox")], W, H)
    assert line_crop(image, region).shape[:2] == (30, 160)


def test_det_entry_keeps_points_inside_the_image_and_marks_untranscribed_regions():
    value = {"x": 90.0, "y": -5.0, "width": 30.0, "height": 20.0, "rotation": 10}
    (region,) = regions([_item("o", "rectangle", value, "bbox")], W, H)
    entry = det_entry(region, W, H)
    assert entry["transcription"] == "###" and len(entry["points"]) == 4
    assert all(0 <= x <= W and 0 <= y <= H and isinstance(x, int) for x, y in entry["points"])


def test_split_is_seeded_order_independent_and_sized():
    ids = list(range(1, 101))
    a, b = val_ids(ids, 0.2, seed=7), val_ids(list(reversed(ids)), 0.2, seed=7)
    assert a == b and len(a) == 20 and a <= set(ids)
    assert val_ids(ids, 0.2, seed=8) != a
    assert val_ids(ids, 0.0, seed=7) == set()


def test_the_latest_submitted_annotation_or_the_asked_prediction_is_exported():
    task = {
        "annotations": [
            {"id": 1, "updated_at": "2026-01-02T00:00:00Z", "result": [{"id": "a"}], "was_cancelled": False},
            {"id": 2, "updated_at": "2026-01-03T00:00:00Z", "result": [{"id": "b"}], "was_cancelled": False},
            {"id": 3, "updated_at": "2026-01-04T00:00:00Z", "result": [{"id": "c"}], "was_cancelled": True},
        ],
        "predictions": [
            {"id": 5, "model_version": "v-a", "result": [{"id": "p"}]},
            {"id": 6, "model_version": "v-b", "result": [{"id": "q"}]},
        ],
    }
    assert pick_result(task, "annotations") == [{"id": "b"}]
    assert pick_result(task, "predictions", "v-a") == [{"id": "p"}]
    assert pick_result(task, "predictions", "other") is None
    assert pick_result({"annotations": []}, "annotations") is None


def test_export_command_from_a_json_export_file(tmp_path):
    corner, w, h = (60.0, 100.0), 160.0, 40.0
    image = _two_tone(rect_corners(corner, w, h, 0.0))
    images = tmp_path / "imgs"
    images.mkdir()
    tasks = []
    for task_id in range(1, 6):
        cv2.imwrite(str(images / f"page{task_id}.png"), image)
        rect = {
            "x": corner[0] / W * 100,
            "y": corner[1] / H * 100,
            "width": w / W * 100,
            "height": h / H * 100,
            "rotation": 0,
        }
        result = [
            _item("r", "rectangle", rect, "bbox"),
            _item("r", "textarea", {"text": [f"line {task_id}"]}, "t"),
            _item("e", "rectangle", dict(rect, y=1.0), "bbox"),
        ]  # no transcription: det only
        tasks.append(
            {
                "id": task_id,
                "data": {"image": f"/data/upload/3/0123abcd-page{task_id}.png"},
                "annotations": [{"id": task_id, "result": result, "was_cancelled": False}],
            }
        )
    tasks.append({"id": 9, "data": {"image": "/data/upload/3/deadbeef-none.png"}, "annotations": []})
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(tasks))
    out = tmp_path / "out"
    code = cli_main.main(
        [
            "export",
            "--from-json",
            str(export_file),
            "--image-dir",
            str(images),
            "--out",
            str(out),
            "--val-fraction",
            "0.4",
            "--seed",
            "3",
            "--no-progress",
        ]
    )
    assert code == 0

    def rows(kind):
        return [
            line.split("\t")
            for split in ("train", "val")
            for line in (out / f"{kind}_gt_{split}.txt").read_text().splitlines()
        ]

    det, rec = rows("det"), rows("rec")
    assert len((out / "det_gt_val.txt").read_text().splitlines()) == 2 and len(det) == 5
    for path, labels in det:
        assert (out / path).is_file()
        assert [r["transcription"] for r in json.loads(labels)][1] == "###"
    assert sorted(text for _, text in rec) == [f"line {i}" for i in range(1, 6)]
    for path, _ in rec:
        _assert_red_then_blue(cv2.imread(str(out / path)), w, h)


# --- round trip on real pages with the real recogniser ------------------------------------------------

PAGES = ("en_etoolbox_p027", "zh_lshort-zh_p113")
TURN = 12.0  # degrees clockwise


def _gt_lines(page_id, count=12):
    return [line for line in load_gt(page_id)["lines"] if not line.get("ignore")][:count]


def _polygon_task(task_id, page_id):
    gt = load_gt(page_id)
    result = []
    for k, line in enumerate(_gt_lines(page_id)):
        x0, y0, x1, y1 = line["bbox"]
        quad = [(x1, y1), (x0, y1), (x0, y0), (x1, y0)]  # starts bottom-right, anticlockwise
        points = [[x / gt["width"] * 100, y / gt["height"] * 100] for x, y in quad]
        result += [
            {"id": f"l{k}", "type": "polygon", "value": {"points": points}},
            {"id": f"l{k}", "type": "textarea", "value": {"text": [line["text"]]}},
        ]
    return {"id": task_id, "data": {"image": f"{page_id}.png"}, "annotations": [{"id": 1, "result": result}]}


def _turned(page_id):
    """The page turned TURN degrees clockwise on an enlarged canvas, and its lines as LS rectangles."""
    gt = load_gt(page_id)
    image = cv2.imread(os.path.join(PUBLIC, "images", f"{page_id}.png"))
    matrix = page_rotation_matrix(gt["width"], gt["height"], -TURN)  # cv2: positive is anticlockwise
    size = (
        int(gt["height"] * np.sin(np.radians(TURN)) + gt["width"] * np.cos(np.radians(TURN))),
        int(gt["height"] * np.cos(np.radians(TURN)) + gt["width"] * np.sin(np.radians(TURN))),
    )
    turned = cv2.warpAffine(image, matrix, size, borderValue=(255, 255, 255))
    result = []
    for k, line in enumerate(_gt_lines(page_id)):
        x0, y0, x1, y1 = line["bbox"]
        cx, cy = matrix @ np.array([x0, y0, 1.0])
        value = {
            "x": cx / size[0] * 100,
            "y": cy / size[1] * 100,
            "width": (x1 - x0) / size[0] * 100,
            "height": (y1 - y0) / size[1] * 100,
            "rotation": TURN,
        }
        result += [
            {"id": f"r{k}", "type": "rectangle", "value": value},
            {"id": f"r{k}", "type": "textarea", "value": {"text": [line["text"]]}},
        ]
    return turned, {"id": 0, "data": {"image": "turned.png"}, "annotations": [{"id": 1, "result": result}]}


@pytest.mark.slow
def test_round_trip_crops_read_back_as_their_transcriptions(tmp_path):
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    turned_image, turned_task = _turned(PAGES[0])
    tasks = [_polygon_task(i + 1, page) for i, page in enumerate(PAGES)] + [turned_task]
    in_memory = {f"{page}.png": cv2.imread(os.path.join(PUBLIC, "images", f"{page}.png")) for page in PAGES}
    in_memory["turned.png"] = turned_image
    summary = export_tasks(
        tasks, str(tmp_path), lambda t: in_memory[t["data"]["image"]], "image", val_fraction=0.34, seed=1
    )
    assert (summary.images, summary.rec_crops, summary.val_images) == (3, 36, 1)
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "OCR_LANG": "ch"}))
    score = scorer()
    per_image = {}
    for split in ("train", "val"):
        for det_line in (tmp_path / f"det_gt_{split}.txt").read_text(encoding="utf-8").splitlines():
            path, labels = det_line.split("\t")
            height, width = cv2.imread(str(tmp_path / path)).shape[:2]
            assert all(0 <= x <= width and 0 <= y <= height for r in json.loads(labels) for x, y in r["points"])
        for rec_line in (tmp_path / f"rec_gt_{split}.txt").read_text(encoding="utf-8").splitlines():
            path, text = rec_line.split("\t")
            per_image.setdefault(path.split("_")[0], []).append((cv2.imread(str(tmp_path / path)), text))
    for image, pairs in per_image.items():
        read = engine.recognize([crop for crop, _ in pairs])
        edits = sum(score.levenshtein(score.norm(got), score.norm(want)) for (got, _), (_, want) in zip(read, pairs))
        chars = sum(len(score.norm(want)) for _, want in pairs)
        assert edits / chars <= 0.05, (image, edits / chars, [(g, w) for (g, _), (_, w) in zip(read, pairs)][:5])
