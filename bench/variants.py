"""make bench's comparisons inside one run: other server settings, and a page's lower-resolution twin.

  * a variant (`--variant "orientation on:USE_DOC_ORIENTATION=true,USE_TEXTLINE_ORIENTATION=true"`)
    is a second backend with more environment, asked for every page right after ours: its F1/CER
    per language and its time as a ratio to ours, page by page (in turn, so the machine's load hits
    both alike). A variant whose models are missing is not measured: its columns say why.
  * a twin corpus (`--twin ../shared/corpus/public` for the 300-dpi copy made by make_300dpi.py):
    the same page ids at another resolution, read by our backend right after each page: the ratio
    of our time to the twin's, per language, and the twin's F1/CER.

Pure parts only (parsing, per-language ratios, table cells); run_bench.py runs the servers.
"""

import statistics

# How a server log says a model could not be had: engine.py's ModelUnavailableError, whose message
# (the traceback's last line) names the models and the settings that want them.
MISSING_MODEL_MARKER = "ModelUnavailableError: "


def parse_variant(spec):
    """'NAME:KEY=VALUE,KEY=VALUE' -> (name, {KEY: VALUE})."""
    name, sep, pairs = spec.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"--variant wants NAME:KEY=VALUE[,KEY=VALUE...], got {spec!r}")
    env = {}
    for pair in filter(None, (p.strip() for p in pairs.split(","))):
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ValueError(f"--variant {name!r}: {pair!r} is not KEY=VALUE")
        env[key.strip()] = value.strip()
    return name.strip(), env


def missing_model_reason(log_text):
    """The message of the first ModelUnavailableError in a server log, shortened; None without one."""
    for line in log_text.splitlines():
        _, marker, message = line.partition(MISSING_MODEL_MARKER)
        if marker:
            return message.strip()[:160]
    return None


def ratios_by_lang(pages, mine, base):
    """{lang: median of mine/base per page} and {'all': ...}, over pages both timed ({id: s} each).

    The median of per-page ratios: each pair was measured back to back (run_bench.paired says why)."""
    groups = {}
    for page in pages:
        pid = page["id"]
        if pid in mine and pid in base and base[pid] > 0:
            ratio = mine[pid] / base[pid]
            groups.setdefault(page["lang"], []).append(ratio)
            groups.setdefault("all", []).append(ratio)
    return {lang: round(statistics.median(values), 2) for lang, values in groups.items()}


def ratio_cell(ratios, lang):
    value = ratios.get(lang) if ratios else None
    return f"{value:.2f}x" if value is not None else "-"


def unavailable_cell(entry):
    return "not run: " + (entry.get("reason") or "unavailable")
