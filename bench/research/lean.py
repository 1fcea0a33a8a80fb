"""A lean PP-OCRv5 det+rec pipeline on onnxruntime, for measuring what PaddleX's wrappers cost
and for levers PaddleX does not expose (rec width squeeze, width-bucketed batches, in-graph argmax,
int8 models).  Pre/post-processing reuses PaddleX's own operators so results match its pipeline.
"""
import math
import os

import cv2
import numpy as np
import onnxruntime as ort
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))  # bench/research/ -> the repository
MODELS = os.environ.get("MODEL_DIR") or os.path.join(REPO, "models")


def add_argmax_outputs(src, dst):
    """Copy of the rec ONNX model whose outputs are argmax ids [N,T] and max prob [N,T]."""
    import onnx
    from onnx import helper
    m = onnx.load(src)
    g = m.graph
    out = g.output[0].name
    g.node.append(helper.make_node("ArgMax", [out], ["ids"], axis=2, keepdims=0))
    g.node.append(helper.make_node("ReduceMax", [out], ["prob"], axes=[2], keepdims=0))
    del g.output[:]
    g.output.extend([helper.make_tensor_value_info("ids", onnx.TensorProto.INT64, None),
                     helper.make_tensor_value_info("prob", onnx.TensorProto.FLOAT, None)])
    onnx.save(m, dst)


def session(path, threads, opt_level=99, spin=True, optimized_path=None):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel(opt_level)
    if not spin:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


class LeanOCR:
    def __init__(self, det_dir=None, rec_dir=None, threads=2, det_model=None, rec_model=None,
                 limit_side_len=64, limit_type="min", max_side_limit=4000,
                 thresh=0.3, box_thresh=0.6, unclip_ratio=1.5,
                 rec_batch="bucket", rec_bucket_px=64, rec_max_batch=8, squeeze=1.0,
                 max_rec_w=3200, argmax_in_graph=True, spin=True, opt_level=99, rec_workers=1):
        from paddlex.inference.models.text_detection.processors import (DBPostProcess,
                                                                         DetResizeForTest)
        from paddlex.inference.models.text_recognition.processors import CTCLabelDecode
        from paddlex.inference.pipelines.components import CropByPolys, SortQuadBoxes
        det_dir = det_dir or os.path.join(MODELS, "PP-OCRv5_mobile_det")
        rec_dir = rec_dir or os.path.join(MODELS, "PP-OCRv5_mobile_rec")
        det_model = det_model or os.path.join(det_dir, "inference.onnx")
        rec_model = rec_model or os.path.join(rec_dir, "inference.onnx")
        self.argmax_in_graph = argmax_in_graph
        if argmax_in_graph:
            dst = "/tmp/lean_" + os.path.basename(os.path.dirname(rec_model)) + "_" + \
                  os.path.basename(rec_model).replace(".onnx", "_argmax.onnx")
            if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(rec_model):
                add_argmax_outputs(rec_model, dst)
            rec_model = dst
        self.det = session(det_model, threads, opt_level, spin)
        # rec_workers > 1: lines run concurrently, each single-threaded (one shared session;
        # InferenceSession.run is thread-safe and releases the GIL).
        self.rec_workers = rec_workers
        self.rec = session(rec_model, 1 if rec_workers > 1 else threads, opt_level, spin)
        self.pool = None
        if rec_workers > 1:
            import concurrent.futures
            self.pool = concurrent.futures.ThreadPoolExecutor(rec_workers)
        self.det_in = self.det.get_inputs()[0].name
        self.rec_in = self.rec.get_inputs()[0].name
        self.resize = DetResizeForTest(limit_side_len=limit_side_len, limit_type=limit_type,
                                       max_side_limit=max_side_limit)
        self.limit = (limit_side_len, limit_type, max_side_limit)
        self.post = DBPostProcess(thresh=thresh, box_thresh=box_thresh, max_candidates=1000,
                                  unclip_ratio=unclip_ratio)
        self.post_args = (thresh, box_thresh, unclip_ratio)
        with open(os.path.join(rec_dir, "inference.yml")) as f:
            y = yaml.safe_load(f)
        self.ctc = CTCLabelDecode(character_list=y["PostProcess"]["character_dict"])
        self.chars = self.ctc.character
        self.sort = SortQuadBoxes()
        self.crop = CropByPolys(det_box_type="quad")
        mean = np.array([0.485, 0.456, 0.406], np.float32)
        std = np.array([0.229, 0.224, 0.225], np.float32)
        self.det_scale = (1.0 / 255.0 / std).astype(np.float32)
        self.det_shift = (-mean / std).astype(np.float32)
        self.rec_batch = rec_batch
        self.bucket_px = rec_bucket_px
        self.max_batch = rec_max_batch
        self.squeeze = squeeze
        self.max_rec_w = max_rec_w

    # -- detection ---------------------------------------------------------------------------
    def detect(self, img):
        imgs, shapes = self.resize([img], *self.limit)
        x = imgs[0].astype(np.float32)
        x *= self.det_scale
        x += self.det_shift
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        pred = self.det.run(None, {self.det_in: x})
        boxes, _ = self.post(pred, shapes, *self.post_args)
        return self.sort(boxes[0])

    # -- recognition -------------------------------------------------------------------------
    def _prep(self, crop):
        h, w = crop.shape[:2]
        rw = min(self.max_rec_w, max(1, int(math.ceil(48 * w / float(h) * self.squeeze))))
        r = cv2.resize(crop, (rw, 48)).astype(np.float32)
        r *= 2.0 / 255.0
        r -= 1.0
        return r.transpose(2, 0, 1)

    def _run_rec(self, arrs):
        w = max(a.shape[2] for a in arrs)
        w = max(w, 8)
        x = np.zeros((len(arrs), 3, 48, w), np.float32)
        for i, a in enumerate(arrs):
            x[i, :, :, : a.shape[2]] = a
        if self.argmax_in_graph:
            ids, prob = self.rec.run(None, {self.rec_in: x})
        else:
            (p,) = self.rec.run(None, {self.rec_in: x})
            ids, prob = p.argmax(axis=2), p.max(axis=2)
        return [self._decode(ids[i], prob[i]) for i in range(len(arrs))]

    def _decode(self, ids, prob):
        sel = np.ones(len(ids), bool)
        sel[1:] = ids[1:] != ids[:-1]
        sel &= ids != 0
        text = "".join(self.chars[i] for i in ids[sel])
        conf = prob[sel]
        return text, float(conf.mean()) if len(conf) else 0.0

    def recognize(self, crops):
        arrs = [self._prep(c) for c in crops]
        order = sorted(range(len(arrs)), key=lambda i: arrs[i].shape[2])
        out = [None] * len(arrs)
        groups = []
        if self.rec_batch == "bucket":
            cur = []
            for i in order:
                if cur and (arrs[i].shape[2] - arrs[cur[0]].shape[2] > self.bucket_px
                            or len(cur) >= self.max_batch):
                    groups.append(cur)
                    cur = []
                cur.append(i)
            if cur:
                groups.append(cur)
        else:
            n = int(self.rec_batch)
            groups = [order[k:k + n] for k in range(0, len(order), n)]
        if self.pool is not None:
            # longest first, so the two workers finish together
            futs = [(g, self.pool.submit(self._run_rec, [arrs[i] for i in g])) for g in groups[::-1]]
            for g, f in futs:
                for i, r in zip(g, f.result()):
                    out[i] = r
            return out
        for g in groups:
            for i, r in zip(g, self._run_rec([arrs[i] for i in g])):
                out[i] = r
        return out

    def __call__(self, img):
        polys = self.detect(img)
        if len(polys) == 0:
            return []
        crops = list(self.crop(img, polys))
        keep = [(p, c) for p, c in zip(polys, crops) if c.size > 0]
        recs = self.recognize([c for _, c in keep])
        return [{"points": np.asarray(p).tolist(), "text": t, "score": s}
                for (p, _), (t, s) in zip(keep, recs)]
