"""make bench's run: our backend, its twin pages, the variants and the yardsticks reading every page in turn.

Page by page: ours (one task per request), then the page's twin on our server (--twin), then each
variant's server, then the RapidOCR yardsticks, so that machine noise hits all alike. The backend is
the tests' launcher (tests/support: gunicorn from ppocr_v5/ as the README serves it), the pages come
from the tests' folder host, the RSS of each server's process tree from their sampler.
"""

import os
import shutil
import tempfile
import time

import requests

import common
import variants
from figures import accuracy_of, latency, paired, turn_groups
from ls_calls import lines_of, predict, setup
from tests.support.hosts import folder_host
from tests.support.launcher import Backend, server_env
from tests.support.rss import RssSampler

# Server variables taken from our own environment only when given with --env; the rest of the
# shell's environment reaches the servers and the yardsticks alike.
SERVER_VARS = ("PORT", "HOST", "WORKERS", "THREADS")
HEALTH_TIMEOUT_S = 180


def settings(env_extra):
    """What every server of the run gets on top of our environment (and --env on top of that)."""
    # The phases send the same pages again: the result cache would answer those without OCR,
    # and this measures OCR (pass --env RESULT_CACHE=true to measure the cache instead).
    return {"LOG_LEVEL": "WARNING", "RESULT_CACHE": "false", **env_extra}


def backend_env(env_extra):
    """The backend's environment, which the RapidOCR yardsticks get too (they read its settings)."""
    return server_env(settings(env_extra), strip=SERVER_VARS)


class Server:
    """A backend started by the tests' launcher, with the sampler of its process tree's RSS."""

    def __init__(self, env_extra, log_path, python_bin):
        if os.path.exists(log_path):
            os.remove(log_path)  # the launcher appends: one run per log, as the variants' check reads it
        gunicorn = os.path.join(os.path.dirname(python_bin), "gunicorn")
        self.backend = Backend(log_path, settings(env_extra), strip=SERVER_VARS, gunicorn=gunicorn)
        self.rss = RssSampler(self.backend.pid)
        self.url = self.backend.url

    def started(self):
        """perf_counter() when the process was started."""
        return self.backend.proc.started

    def wait_health(self):
        """Seconds from the process start to a healthy /health."""
        return self.backend.wait_ready(HEALTH_TIMEOUT_S).ready_s

    def stop(self):
        self.rss.stop()
        self.backend.stop(30)


class Reader:
    """One server's reading of the pages: its predictions (a folder score.py reads) and its seconds."""

    def __init__(self, tasks, prefix):
        self.tasks = tasks  # page id -> task
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.seconds = {}
        self.server = None

    def read(self, session, page_id, url=None):
        """Times one page; returns (seconds, regions)."""
        t0 = time.perf_counter()
        res = predict(session, url or self.server.url, [self.tasks[page_id]])
        self.seconds[page_id] = time.perf_counter() - t0
        lines = lines_of(res[0])
        common.write_preds(self.dir, page_id, [ln["points"] for ln in lines], [ln["text"] for ln in lines])
        return self.seconds[page_id], len(lines)

    def accuracy(self, corpus, page_ids, groups=None):
        """score.py's figures for the pages read; `groups` ({name: page ids}, figures.turn_groups) adds
        the overall figures of each group as "by_turn"."""
        acc = accuracy_of(common.score(self.dir, corpus, page_ids=page_ids))
        if groups:
            scored = {name: common.score(self.dir, corpus, page_ids=ids) for name, ids in groups.items()}
            acc["by_turn"] = {name: accuracy_of(rep)["overall"] for name, rep in scored.items()}
        shutil.rmtree(self.dir, ignore_errors=True)
        return acc


class Run:
    """The servers and hosts of one run; measure() fills the report's timings, score() its accuracy."""

    def __init__(self, corpus, pages, env_extra, stem, python_bin, twin="", variant_envs=None, yardsticks=None):
        self.corpus, self.pages, self.env_extra, self.stem, self.python = corpus, pages, env_extra, stem, python_bin
        self.twin = twin
        self.yardsticks = yardsticks
        # the pages' "image" paths are images/<file>, relative to the split dir
        self.images = folder_host(os.path.join(corpus, "images"))
        self.twin_images = folder_host(os.path.join(twin, "images")) if twin else None
        self.ours = Reader(self._tasks(self.images), "bench_preds_")
        self.twin_reader = Reader(self._tasks(self.twin_images), "bench_preds_twin_") if twin else None
        self.variants = {
            name: dict(env=env, reader=Reader(self.ours.tasks, "bench_preds_variant_"))
            for name, env in (variant_envs or {}).items()
        }
        self.server = None

    def _tasks(self, host):
        return {
            p["id"]: {"id": i + 1, "data": {"image": f"{host.url}/{os.path.basename(p['image'])}"}}
            for i, p in enumerate(self.pages)
        }

    def path_of(self, page):
        return os.path.join(self.corpus, page["image"])

    def measure(self, report, warmup, throughput=None):
        """0. the yardsticks' start, 1. ours: start-up, 2. every page in turn, then `throughput`(server)."""
        session = requests.Session()
        warm_pages = self.pages[: 1 + warmup]
        try:
            # 0. the yardsticks load and warm up first, so that they never share the cores with the
            # backend's cold start (which step 1 measures)
            if self.yardsticks:
                report["rapidocr"] = self.yardsticks.start(
                    backend_env(self.env_extra), self.python, [self.path_of(p) for p in warm_pages]
                )
            # 1. start-up
            self.server = Server(self.env_extra, self.stem + ".server.log", self.python)
            t_health = self.server.wait_health()
            setup(session, self.server.url)
            predict(session, self.server.url, [self.ours.tasks[self.pages[0]["id"]]])
            t_first = time.perf_counter() - self.server.started()
            report["startup"] = {"health_s": round(t_health, 2), "first_prediction_s": round(t_first, 2)}
            print(f"server healthy after {t_health:.1f}s, first prediction after {t_first:.1f}s", flush=True)
            for p in warm_pages[1:]:
                predict(session, self.server.url, [self.ours.tasks[p["id"]]])
            for name, v in self.variants.items():
                self._start_variant(name, v, session, [self.ours.tasks[p["id"]] for p in warm_pages])

            # 2. one page per request, sequential: latency + accuracy; the others in turn
            for p in self.pages:
                self._read_in_turn(session, p)
            if self.yardsticks:
                self.yardsticks.close()  # done: its memory is not kept through the throughput phases
            report["latency"] = latency(self.ours.seconds)
            if self.yardsticks:
                self.yardsticks.pair(self.ours.seconds)

            if throughput:
                throughput(self.server.url, self.pages, self.ours.tasks, report)
            report["peak_rss_mb"] = round(self.server.rss.peak / 2**20, 1)
            for v in self.variants.values():
                if v["reader"].server is not None:
                    v["peak_rss_mb"] = round(v["reader"].server.rss.peak / 2**20, 1)
        finally:
            self._stop()

    def _read_in_turn(self, session, p):
        pid = p["id"]
        seconds, regions = self.ours.read(session, pid, self.server.url)
        note = f"  {pid:40s} {seconds:6.2f}s  {regions:3d} regions"
        if self.twin_reader:
            seconds, regions = self.twin_reader.read(session, pid, self.server.url)
            note += f" | twin {seconds:6.2f}s {regions:3d}"
        for name, v in self.variants.items():
            if v["reader"].server is not None:
                seconds, regions = v["reader"].read(session, pid)
                note += f" | {name} {seconds:6.2f}s {regions:3d}"
        if self.yardsticks:
            note += self.yardsticks.read(pid, self.path_of(p))
        print(note, flush=True)

    def _start_variant(self, name, v, session, warm_tasks):
        """Start a variant's backend and warm it up; where its models are missing, record why and stop it."""
        slug = "".join(c if c.isalnum() else "-" for c in name)
        server = Server(dict(self.env_extra, **v["env"]), f"{self.stem}.variant-{slug}.log", self.python)
        try:
            server.wait_health()
            setup(session, server.url)
            found = sum(len(lines_of(predict(session, server.url, [task])[0])) for task in warm_tasks)
        except (AssertionError, RuntimeError, requests.RequestException) as exc:  # the launcher asserts
            server.stop()
            v["reason"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"  # one table cell
            print(f"variant {name!r}: not run ({v['reason']})", flush=True)
            return
        reason = variants.missing_model_reason(server.backend.log_text())
        if reason and not found:
            server.stop()
            v["reason"] = f"model missing ({reason})"
            print(f"variant {name!r}: not run, {v['reason']}", flush=True)
            return
        v["reader"].server = server
        print(f"variant {name!r} ({v['env']}) ready", flush=True)

    def _stop(self):
        if self.yardsticks:
            self.yardsticks.close()
        if self.server:
            self.server.stop()
        for v in self.variants.values():
            if v["reader"].server is not None:
                v["reader"].server.stop()
        self.images.close()
        if self.twin_images:
            self.twin_images.close()

    def score(self, report, page_ids):
        """5. accuracy, all scored alike (on `page_ids` only where the run read a subset); the
        variants' and the twin's accuracy and time ratios."""
        turns = turn_groups(self.pages, page_ids)
        report["accuracy"] = self.ours.accuracy(self.corpus, page_ids, turns)
        if self.yardsticks:
            self.yardsticks.score(self.corpus, page_ids)
        ours = self.ours.seconds
        if self.variants:
            report["variants"] = {}
        for name, v in self.variants.items():
            reader = v["reader"]
            entry = {"env": v["env"], "available": bool(reader.seconds)}
            if reader.seconds:
                entry["accuracy"] = reader.accuracy(self.corpus, page_ids, turns)
                entry["latency"] = paired(ours, reader.seconds)
                entry["ratio_by_lang"] = variants.ratios_by_lang(self.pages, reader.seconds, ours)
                entry["peak_rss_mb"] = v.get("peak_rss_mb")
            else:
                entry["reason"] = v.get("reason", "no page was read")
                shutil.rmtree(reader.dir, ignore_errors=True)
            report["variants"][name] = entry
        if self.twin_reader:
            twin = self.twin_reader.seconds
            report["twin"] = {
                "corpus": self.twin,
                "accuracy": self.twin_reader.accuracy(self.twin, [p["id"] for p in self.pages]),
                # ours (this corpus) / the twin's, page by page: 1.25x means 25 % more time than the twin
                "latency": paired(twin, ours),
                "ratio_by_lang": variants.ratios_by_lang(self.pages, ours, twin),
            }
