"""Page and text-line orientation classifiers (PP-LCNet doc_ori / textline_ori) on onnxruntime.

PaddleX runs these as pipeline modules, which ties them to PaddleX's own recogniser; run here, the
CPU path keeps fast_rec's recogniser with orientation on (docs/orientation.md). Pre- and
post-processing follow the folder's inference.yml the way PaddleX's image classification predictor
reads it (RGB input, ResizeImage by short side or to a size, centre CropImage, NormalizeImage,
CHW; the top-1 label), so the same folder reads alike here and in PaddleX.
"""

import dataclasses
import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
import yaml

from ocr_backend.errors import ModelFolderError

Op = Callable[[np.ndarray], np.ndarray]


def _resize(resize_short=None, size=None, interpolation="LINEAR", backend="cv2") -> Op:
    interp = getattr(cv2, f"INTER_{interpolation}")
    if resize_short:

        def by_short(img: np.ndarray) -> np.ndarray:
            h, w = img.shape[:2]
            scale = resize_short / min(h, w)
            return cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=interp)

        return by_short
    width, height = (size, size) if isinstance(size, int) else size
    return lambda img: cv2.resize(img, (width, height), interpolation=interp)


def _crop(size=224) -> Op:
    cw, ch = (size, size) if isinstance(size, int) else size

    def centre(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        x, y = max(0, (w - cw) // 2), max(0, (h - ch) // 2)
        return img[y : y + ch, x : x + cw]

    return centre


def _normalize(mean, std, scale=1 / 255.0, order="", channel_num=3) -> Op:
    factor = np.float32(scale)
    mean_ = np.asarray(mean, dtype=np.float32)
    std_ = np.asarray(std, dtype=np.float32)
    return lambda img: (img.astype(np.float32) * factor - mean_) / std_


_OPS: Dict[str, Callable[..., Op]] = {
    "ResizeImage": _resize,
    "CropImage": _crop,
    "NormalizeImage": _normalize,
    "ToCHWImage": lambda: lambda img: img.transpose(2, 0, 1),
}


def _session(onnx_path: str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the textline export has no output shape hints: a warning per load
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    return session, session.get_inputs()[0].name


class OrientationClassifier:
    """One PaddleX classification folder (inference.onnx + inference.yml): images -> angle in degrees
    (each label's leading number: "90" -> 90, "180_degree" -> 180), in batches."""

    def __init__(self, model_dir: str, threads: int, batch_size: int = 32):
        config_path = os.path.join(model_dir, "inference.yml")
        try:
            with open(config_path, encoding="utf-8") as f:
                config = yaml.safe_load(f)
            ops = [(name, args) for step in config["PreProcess"]["transform_ops"] for name, args in step.items()]
            self._ops = [_OPS[name](**(args or {})) for name, args in ops]
            self.angles_by_class = tuple(
                int(str(label).split("_")[0]) for label in config["PostProcess"]["Topk"]["label_list"]
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise ModelFolderError(f"{config_path}: not an orientation classifier's config ({exc!r})") from None
        self.name = (config.get("Global") or {}).get("model_name", os.path.basename(model_dir))
        self._session, self._input = _session(os.path.join(model_dir, "inference.onnx"), threads)
        self._batch_size = batch_size

    def _prepare(self, image_bgr: np.ndarray) -> np.ndarray:
        img = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)  # PaddleX's classifiers read RGB
        for op in self._ops:
            img = op(img)
        return img

    def probabilities(self, images_bgr: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities, one row per image (batches of `batch_size`)."""
        rows = []
        for start in range(0, len(images_bgr), self._batch_size):
            batch = np.stack([self._prepare(img) for img in images_bgr[start : start + self._batch_size]])
            rows.append(self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0])
        return np.concatenate(rows) if rows else np.zeros((0, len(self.angles_by_class)), dtype=np.float32)

    def angles(self, images_bgr: Sequence[np.ndarray]) -> List[int]:
        """The top-1 angle of each image, in order."""
        return [self.angles_by_class[int(i)] for i in self.probabilities(images_bgr).argmax(axis=1)]


def turn_upright(crops: Sequence[np.ndarray], angles: Sequence[int]) -> Tuple[List[np.ndarray], int]:
    """Line crops with those classified upside down turned by 180 degrees; also how many were."""
    out = [cv2.rotate(c, cv2.ROTATE_180) if a == 180 else c for c, a in zip(crops, angles)]
    return out, sum(1 for a in angles if a == 180)


@dataclasses.dataclass(frozen=True)
class Orientation:
    """The classifiers an engine runs itself (pipeline_config.own_orientation_dirs): either may be off."""

    page: Optional[OrientationClassifier] = None
    lines: Optional[OrientationClassifier] = None


def load_orientation(dirs: Mapping[str, str], threads: int) -> Orientation:
    """The classifiers of `dirs` (model name -> folder), by what each one classifies."""
    page = [OrientationClassifier(folder, threads) for name, folder in dirs.items() if name.endswith("_doc_ori")]
    lines = [OrientationClassifier(folder, threads) for name, folder in dirs.items() if name.endswith("_textline_ori")]
    return Orientation(page=page[0] if page else None, lines=lines[0] if lines else None)
