"""make bench's printed tables (markdown): the run's figures, and F1 / CER per language beside every comparison."""

import functools
import os

import variants
from yardsticks import NAMES


def _markdown(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _f1_cer(s):
    return f"{s['f1']:.3f} / {100 * s['cer']:.2f} %" if s else "-"


def summary_table(r):
    """The run's figures as markdown rows (metric | value); absent phases are left out."""
    m = r["machine"]
    acc = r["accuracy"]
    load = m.get("load_avg_1m_at_start")
    rows = [
        (
            "machine",
            f"{m['cpu']}, {m['cores']} cores, {m['memory']}"
            + (f" (load {load:.1f} at start)" if load is not None else ""),
        ),
        ("date", r["date"]),
        ("pages", f"{r['pages']} ({os.path.basename(r['corpus'])})"),
        ("first prediction after process start", f"{r['startup']['first_prediction_s']:.1f} s"),
        ("latency per page, 1 task/request", f"p50 {r['latency']['p50_s']:.2f} s, p95 {r['latency']['p95_s']:.2f} s"),
    ]
    rapid = r.get("rapidocr", {})
    for name, e in rapid.get("engines", {}).items():
        lat = e.get("latency")
        if not lat:
            continue
        rows.append(
            (
                f"{NAMES[name]} ({e['models']}; {rapid['version']}, {rapid['threads']} threads), in turn",
                f"p50 {lat['p50_s']:.2f} s, p95 {lat['p95_s']:.2f} s",
            )
        )
        rows.append(
            (
                f"  speed-up vs {NAMES[name]}, {lat['pages']} pages",
                f"{lat['ratio_p50']:.2f}x (p50); per-page median {lat['ratio_median']:.2f}x",
            )
        )
    if "batch" in r:
        rows.append(
            (f"throughput, {r['batch']['tasks_per_request']} tasks/request", f"{r['batch']['pages_per_s']:.2f} pages/s")
        )
    if "concurrent" in r:
        c = r["concurrent"]
        rows.append(
            (
                f"throughput, {c['clients']} concurrent clients",
                f"{c['pages_per_s']:.2f} pages/s (latency p50 {c['latency_p50_s']:.2f} s)",
            )
        )
    rows += [
        ("peak RSS (server process tree)", f"{r['peak_rss_mb']:.0f} MB"),
        (
            "detection P / R / F1 @ IoU 0.5",
            f"{acc['overall']['precision']:.3f} / {acc['overall']['recall']:.3f} / {acc['overall']['f1']:.3f}",
        ),
        ("CER (matched lines)", f"{100 * acc['overall']['cer']:.2f} %"),
    ]
    for lang in ("en", "zh"):
        if lang in acc["by_lang"]:
            rows.append((f"  {lang}: F1 / CER", _f1_cer(acc["by_lang"][lang])))
    if "peer" in r:
        p = r["peer"]
        rows.append(
            (
                f"peer (PaddleX OCR, paddle fp32, rebuilt per request), {len(p['pages'])} pages",
                (
                    f"{p['mean_total_s']:.2f} s/page (build {p['mean_build_s']:.2f} s"
                    f" + predict {p['mean_predict_s']:.2f} s)"
                ),
            )
        )
        rows.append(("speed-up vs peer (same pages)", f"{p['speedup']:.1f}x"))
    twin = r.get("twin")
    if twin and twin.get("latency"):
        lat = twin["latency"]
        rows.append(
            (
                f"time vs the {os.path.basename(twin['corpus'])} twin (same server, in turn), {lat['pages']} pages",
                f"{lat['ratio_median']:.2f}x per-page median, {lat['ratio_total']:.2f}x total"
                f" (twin p50 {lat['ours_p50_s']:.2f} s); F1 {acc['overall']['f1']:.3f}"
                f" vs twin {twin['accuracy']['overall']['f1']:.3f}",
            )
        )
    for name, v in r.get("variants", {}).items():
        if not v.get("available"):
            rows.append((f"{name}", variants.unavailable_cell(v)))
            continue
        lat = v["latency"]
        rows.append(
            (
                f"{name} ({', '.join(f'{k}={x}' for k, x in v['env'].items())}), in turn, {lat['pages']} pages",
                f"p50 {lat['p50_s']:.2f} s; {lat['ratio_median']:.2f}x ours per-page median;"
                f" F1 {v['accuracy']['overall']['f1']:.3f}, CER {100 * v['accuracy']['overall']['cer']:.2f} %",
            )
        )
    return _markdown(("metric", "value"), rows)


def language_table(r):
    """F1 / CER per language: ours and each yardstick, one column each (markdown rows)."""
    columns = [("ours", r["accuracy"])]
    for name, e in r.get("rapidocr", {}).get("engines", {}).items():
        if "accuracy" in e:
            columns.append((NAMES[name], e["accuracy"]))
    # Comparisons in the same run (variants.py): a column of F1 / CER and one of time ratios each.
    extra = []  # (header, cell(lang) for a language or "all")
    twin = r.get("twin")
    if twin:
        twin_name = os.path.basename(twin["corpus"])
        extra.append((f"{twin_name} twin: F1 / CER", _acc_cell(twin["accuracy"])))
        extra.append((f"time / {twin_name} twin", functools.partial(variants.ratio_cell, twin["ratio_by_lang"])))
    for name, v in r.get("variants", {}).items():
        if not v.get("available"):
            extra.append((f"{name}: F1 / CER", lambda lang, v=v: variants.unavailable_cell(v)))
            extra.append((f"{name}: time / ours", lambda lang: "-"))
            continue
        extra.append((f"{name}: F1 / CER", _acc_cell(v["accuracy"])))
        extra.append((f"{name}: time / ours", functools.partial(variants.ratio_cell, v["ratio_by_lang"])))
    langs = sorted(r["accuracy"]["by_lang"])
    rows = []
    for lang in langs:
        pages = r["accuracy"]["by_lang"][lang]["pages"]
        rows.append(
            [lang, pages]
            + [_f1_cer(acc["by_lang"].get(lang)) for _, acc in columns]
            + [cell(lang) for _, cell in extra]
        )
    rows.append(
        ["all", r["accuracy"]["overall"]["pages"]]
        + [_f1_cer(acc["overall"]) for _, acc in columns]
        + [cell("all") for _, cell in extra]
    )
    header = ["lang", "pages"] + [f"{name}: F1 / CER" for name, _ in columns] + [h for h, _ in extra]
    return _markdown(header, rows)


def turn_table(r):
    """F1 / CER of the upright and the turned pages (a corpus whose index gives each page's
    quarter_turn, public-photo), ours and each variant, with the turned pages' gap to the upright
    ones; no rows where the run has no such pages."""
    columns = [("ours", r["accuracy"])] + [
        (name, v["accuracy"]) for name, v in r.get("variants", {}).items() if v.get("available")
    ]
    columns = [(name, acc["by_turn"]) for name, acc in columns if "by_turn" in acc]
    if not columns:
        return []
    rows = []
    for group in ("upright", "turned"):
        if group in columns[0][1]:
            rows.append([group, columns[0][1][group]["pages"]] + [_f1_cer(t.get(group)) for _, t in columns])
    if len(rows) == 2:
        rows.append(["turned - upright", "-"] + [_gap(t.get("upright"), t.get("turned")) for _, t in columns])
    return _markdown(["pages", "count"] + [f"{name}: F1 / CER" for name, _ in columns], rows)


def _gap(upright, turned):
    if not upright or not turned:
        return "-"
    return f"{turned['f1'] - upright['f1']:+.3f} / {100 * (turned['cer'] - upright['cer']):+.2f} points"


def _acc_cell(acc):
    """cell(lang) for one accuracy report: that language's F1 / CER, or the overall one for "all"."""
    return lambda lang: _f1_cer(acc["overall"] if lang == "all" else acc["by_lang"].get(lang))
