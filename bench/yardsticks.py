"""make bench's RapidOCR yardsticks in the run: which ones, their start-up, each page in turn with ours, their figures.

The engines themselves run in peer_rapidocr.py's process (it says what "same weights" and
"defaults" set); this keeps their predictions and seconds the way in_turn.py keeps ours.
"""

import shutil
import tempfile

import common
import peer_rapidocr
from figures import accuracy_of, paired

CHOICES = {"both": ["same", "defaults"], "same": ["same"], "defaults": ["defaults"], "none": []}
NAMES = {"same": "RapidOCR, same weights", "defaults": "RapidOCR, defaults"}


class Yardsticks:
    """The chosen engines (CHOICES' values), in one persistent process from start() to close()."""

    def __init__(self, engines, log_path):
        self.engines = list(engines)
        self.log_path = log_path
        self.dirs = {name: tempfile.mkdtemp(prefix=f"bench_preds_rapidocr_{name}_") for name in self.engines}
        self.seconds = {name: {} for name in self.engines}
        self.peer = None
        self.report = None

    def start(self, env, python_bin, warm_paths):
        """Load and warm up on `warm_paths`; returns the report's "rapidocr" entry (filled in later)."""
        print(f"RapidOCR yardsticks ({', '.join(self.engines)}): loading ...", flush=True)
        self.peer = peer_rapidocr.RapidPeer(self.engines, env, python_bin, self.log_path)
        first_call = {}
        for k, path in enumerate(warm_paths):
            res = self.peer.predict(path)
            if k == 0:
                first_call = {name: round(r["seconds"], 2) for name, r in res.items()}
        info = self.peer.info
        self.report = {
            "version": info["version"],
            "threads": info["threads"],
            "engines": {
                name: {
                    "models": info["engines"][name]["models"],
                    "params": info["engines"][name]["params"],
                    "init_s": info["engines"][name]["init_s"],
                    "first_call_s": first_call.get(name),
                }
                for name in self.engines
            },
        }
        return self.report

    def read(self, page_id, path):
        """Every engine reads the page; returns the run's note for the page."""
        note = ""
        for name, r in self.peer.predict(path).items():
            self.seconds[name][page_id] = r["seconds"]
            lines = r["lines"]
            common.write_preds(self.dirs[name], page_id, [ln["points"] for ln in lines], [ln["text"] for ln in lines])
            note += f" | {name} {r['seconds']:6.2f}s {len(lines):3d}" + (f" {r['error']}" if "error" in r else "")
        return note

    def close(self):
        if self.peer:
            self.peer.close()
            self.peer = None

    def pair(self, ours):
        """Their times against ours ({page id: seconds}), page by page."""
        for name in self.engines:
            self.report["engines"][name]["latency"] = paired(ours, self.seconds[name])

    def score(self, corpus, page_ids):
        for name in self.engines:
            rep = common.score(self.dirs[name], corpus, page_ids=page_ids)
            self.report["engines"][name]["accuracy"] = accuracy_of(rep)
            shutil.rmtree(self.dirs[name], ignore_errors=True)
