"""int8 variants of the det/rec ONNX models (onnxruntime.quantization).

PYTHONPATH=bench python bench/research/quantize.py --out /tmp/q [--calib-pages 6]
Writes rec_dyn.onnx, rec_qdq.onnx, det_dyn.onnx, det_qdq.onnx.  Static (QDQ) calibration uses
det inputs / text-line crops of a few corpus pages (every 9th page of the public split).
"""
import argparse
import os

import numpy as np

import common


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/q")
    ap.add_argument("--calib-pages", type=int, default=6)
    ap.add_argument("--which", default="rec_dyn,rec_qdq,det_dyn,det_qdq")
    a = ap.parse_args()
    common.set_paddlex_env(2)
    import cv2
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    import lean
    os.makedirs(a.out, exist_ok=True)
    which = a.which.split(",")
    det_src = os.path.join(lean.MODELS, "PP-OCRv5_mobile_det", "inference.onnx")
    rec_src = os.path.join(lean.MODELS, "PP-OCRv5_mobile_rec", "inference.onnx")
    pre = {}
    for name, src in (("det", det_src), ("rec", rec_src)):
        p = os.path.join(a.out, name + "_pre.onnx")
        if not os.path.exists(p):
            import onnx
            from onnx import version_converter
            tmp = os.path.join(a.out, name + "_op13.onnx")
            onnx.save(version_converter.convert_version(onnx.load(src), 13), tmp)
            quant_pre_process(tmp, p, skip_symbolic_shape=True)
        pre[name] = p
    if "rec_dyn" in which:
        quantize_dynamic(pre["rec"], os.path.join(a.out, "rec_dyn.onnx"), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Conv"])
    if "det_dyn" in which:
        quantize_dynamic(pre["det"], os.path.join(a.out, "det_dyn.onnx"), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["Conv"])
    if any(w in which for w in ("rec_qdq", "rec_qdqc", "det_qdq")):
        eng = lean.LeanOCR(argmax_in_graph=False)
        pages = common.load_index()[::9][: a.calib_pages]
        det_x, rec_x = [], []
        for p in pages:
            img = cv2.imread(os.path.join(common.DEFAULT_CORPUS, p["image"]))
            imgs, _ = eng.resize([img], *eng.limit)
            x = imgs[0].astype(np.float32) * eng.det_scale + eng.det_shift
            det_x.append(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
            polys = eng.detect(img)
            crops = [c for c in eng.crop(img, polys) if c.size > 0]
            rec_x.extend(eng._prep(c)[None] for c in crops[::3])
        print(f"calibration: {len(det_x)} det inputs, {len(rec_x)} rec lines", flush=True)

        class Reader(CalibrationDataReader):
            def __init__(self, xs):
                self.it = iter([{"x": x} for x in xs])

            def get_next(self):
                return next(self.it, None)

        if "rec_qdq" in which:
            quantize_static(pre["rec"], os.path.join(a.out, "rec_qdq.onnx"), Reader(rec_x),
                            quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, per_channel=True,
                            op_types_to_quantize=["Conv", "MatMul"])
        if "rec_qdqc" in which:  # convolutions only: the 18385-way output layer stays fp32
            quantize_static(pre["rec"], os.path.join(a.out, "rec_qdqc.onnx"), Reader(rec_x),
                            quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, per_channel=True,
                            op_types_to_quantize=["Conv"])
        if "det_qdq" in which:
            quantize_static(pre["det"], os.path.join(a.out, "det_qdq.onnx"), Reader(det_x),
                            quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, per_channel=True,
                            op_types_to_quantize=["Conv"])
    print("done", os.listdir(a.out))


if __name__ == "__main__":
    main()
