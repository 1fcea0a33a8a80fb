"""A make bench report as bench/run_bench.py writes it, small and made up, for the table tests."""


def accuracy(f1, cer, langs):
    """score.py's figures, the same for every language and overall."""
    entry = {"precision": f1, "recall": f1, "f1": f1, "cer": cer, "cer_nows": cer, "e2e_cer": cer, "pages": 1}
    return {"overall": dict(entry, pages=len(langs)), "by_lang": {lang: dict(entry) for lang in langs}}


def bench_report(**extra):
    """Two en/zh pages of a run; `extra` adds or replaces top-level entries (yardsticks, twin, variants)."""
    out = {
        "date": "2026-12-02T00:00:00",
        "machine": {"cpu": "Test CPU", "cores": 2, "memory": "24 GiB", "load_avg_1m_at_start": 1.25},
        "corpus": "/x/public-degraded",
        "pages": 2,
        "startup": {"first_prediction_s": 4.0},
        "latency": {"p50_s": 1.0, "p95_s": 2.0},
        "peak_rss_mb": 900.0,
        "accuracy": accuracy(0.9, 0.02, ["en", "zh"]),
    }
    out.update(extra)
    return out
