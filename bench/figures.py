"""make bench's arithmetic: percentiles, the pages of a run, paired time ratios, the accuracy kept, the machine."""

import os
import platform
import statistics


def pct(values, q):
    """Percentile with linear interpolation (q in 0..100)."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def spread(items, n):
    """n items evenly spaced over the list (the middle of each of n equal slices), in order."""
    n = min(n, len(items))
    return [items[(2 * i + 1) * len(items) // (2 * n)] for i in range(n)]


def latency(seconds):
    """{page id: seconds} -> p50 / p95 / mean / pages / per page, as the report keeps them."""
    values = list(seconds.values())
    return {
        "p50_s": round(pct(values, 50), 3),
        "p95_s": round(pct(values, 95), 3),
        "mean_s": round(statistics.mean(values), 3),
        "pages": len(values),
        "per_page_s": {k: round(v, 3) for k, v in seconds.items()},
    }


def paired(ours, theirs):
    """Their per-page times against ours on the pages both have ({page id: seconds} each).

    ratio_p50: their p50 / our p50; ratio_total: their total / our total; ratio_median: the median
    of the per-page ratios (each page's pair was measured back to back, so this one is the least
    hurt by a machine whose load changes during the run)."""
    ids = [k for k in ours if k in theirs]
    if not ids:
        return None
    mine, other = [ours[k] for k in ids], [theirs[k] for k in ids]
    return {
        "pages": len(ids),
        "p50_s": round(pct(other, 50), 3),
        "p95_s": round(pct(other, 95), 3),
        "mean_s": round(statistics.mean(other), 3),
        "ours_p50_s": round(pct(mine, 50), 3),
        "ratio_p50": round(pct(other, 50) / pct(mine, 50), 2),
        "ratio_total": round(sum(other) / sum(mine), 2),
        "ratio_median": round(statistics.median(t / o for t, o in zip(other, mine)), 2),
        "per_page_s": {k: round(theirs[k], 3) for k in ids},
    }


ACCURACY_KEYS = ("precision", "recall", "f1", "cer", "cer_nows", "e2e_cer", "pages")


def accuracy_of(rep):
    """The parts of a score.py report the bench keeps: overall and per language."""
    return {
        "overall": {k: rep["overall"][k] for k in ACCURACY_KEYS},
        "by_lang": {lang: {k: s[k] for k in ACCURACY_KEYS} for lang, s in rep["by_lang"].items()},
    }


def turn_groups(pages, page_ids=None):
    """{"upright": ids, "turned": ids} of the pages read, by their index's quarter_turn (public-photo
    has one per page), or None where no page has one: the issue's bound compares the two groups."""
    wanted = None if page_ids is None else set(page_ids)
    read = [p for p in pages if wanted is None or p["id"] in wanted]
    if not any("quarter_turn" in p for p in read):
        return None
    groups = {
        "upright": [p["id"] for p in read if not p.get("quarter_turn")],
        "turned": [p["id"] for p in read if p.get("quarter_turn")],
    }
    return {name: ids for name, ids in groups.items() if ids}


def machine():
    """What the figures were measured on, with the load at the start (the machine is shared)."""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        model = platform.processor()
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except (ImportError, OSError):
        mem = "?"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu": model,
        "cores": cores,
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_avg_1m_at_start": load,
    }
