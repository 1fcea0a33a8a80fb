"""Entry point of the `ppocr-v5` command: the package's console script (pyproject.toml), installed
into .venv/bin with the package by `make deps` (`make cli` is another name for it)."""

import argparse
import logging
import os
import sys

from ocr_backend import redaction
from ocr_backend.errors import ConfigError, LabelConfigError, LabelStudioApiError

EXIT_FAILED_TASKS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _connection_args(parser):
    parser.add_argument("--url", default="", help="Label Studio URL (default: $LABEL_STUDIO_URL)")
    parser.add_argument(
        "--api-key", default="", help="legacy token or Personal Access Token (default: $LABEL_STUDIO_API_KEY)"
    )


def _dpi(raw: str) -> float:
    """--dpi as import_pdf.import_pdfs takes it (10 to 1200), refused as a usage error here."""
    value = float(raw)
    if not 10 <= value <= 1200:
        raise argparse.ArgumentTypeError(f"{raw}: use a value between 10 and 1200")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ppocr-v5",
        description="PP-OCR pre-annotation tools for Label Studio. "
        "OCR settings come from the same environment variables as the backend.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ann = sub.add_parser("annotate", help="pre-annotate every task of a project (resumable)")
    ann.add_argument("--project", type=int, required=True, help="project id")
    _connection_args(ann)
    ann.add_argument(
        "--workers",
        type=int,
        default=1,
        help="OCR processes (or Ray actors), each with its own "
        "engine; CPU threads are split between them unless CPU_THREADS is set",
    )
    ann.add_argument(
        "--ray",
        default="",
        metavar="ADDRESS",
        help="run on Ray: local (a private instance), auto (the cluster of `ray start`) or an address",
    )
    ann.add_argument("--limit", type=int, default=None, help="at most this many tasks in this run")
    ann.add_argument("--no-progress", action="store_true", help="no progress bar")

    exp = sub.add_parser("export", help="export regions as PaddleOCR detection and recognition training data")
    src = exp.add_mutually_exclusive_group(required=True)
    src.add_argument("--project", type=int, help="read the project through the API")
    src.add_argument("--from-json", metavar="FILE", help="a Label Studio JSON export file")
    _connection_args(exp)
    exp.add_argument("--out", required=True, help="output folder")
    exp.add_argument(
        "--source",
        choices=("annotations", "predictions"),
        default="annotations",
        help="which regions: the latest submitted annotation (default) or a prediction",
    )
    exp.add_argument("--model-version", default="", help="with --source predictions: only this model_version")
    exp.add_argument("--val-fraction", type=float, default=0.1, help="share of images in the val split")
    exp.add_argument("--seed", type=int, default=0, help="seed of the train/val split")
    exp.add_argument(
        "--image-dir", default="", help="read images from this folder by file name instead of downloading them"
    )
    exp.add_argument(
        "--image-key",
        default="",
        help="task data key of the image (default: from the project's label config, else the only data key)",
    )
    exp.add_argument("--no-progress", action="store_true", help="no progress bar")

    imp = sub.add_parser(
        "import-pdf",
        help="import PDFs as multi-page tasks (one task per PDF, its pages as images; resumable)",
    )
    imp.add_argument("paths", nargs="+", metavar="FILE_OR_DIR", help="PDF files, or folders searched for *.pdf")
    imp.add_argument("--project", type=int, required=True, help='project id (its config needs <Image valueList="$…">)')
    _connection_args(imp)
    imp.add_argument("--dpi", type=_dpi, default=150.0, help="rendering resolution of the pages (default 150)")
    imp.add_argument(
        "--text-layer",
        choices=("auto", "always", "never"),
        default="auto",
        help="pages from the PDF's own text layer: auto (default: where usable), always, never (all OCR)",
    )
    imp.add_argument(
        "--verify-lines",
        type=int,
        default=2,
        help="auto: lines per page OCR reads to check the text layer against (default 2; 0: no check)",
    )
    imp.add_argument(
        "--annotate", action="store_true", help="pre-annotate the new tasks right after (as `ppocr-v5 annotate`)"
    )
    imp.add_argument("--workers", type=int, default=1, help="with --annotate: OCR processes, as for annotate")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The raw key values, not the validated settings: even a run stopped by a configuration error
    # must not log the key.
    redaction.install([args.api_key, os.environ.get("LABEL_STUDIO_API_KEY", "")])
    try:
        if args.command == "annotate":
            return _annotate(args)
        if args.command == "import-pdf":
            return _import_pdf(args)
        return _export(args)
    except (ConfigError, LabelConfigError, LabelStudioApiError) as exc:  # the user's to fix; anything else: a bug
        print(f"ppocr-v5 {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _connect(args, client: bool = True):
    """The command's settings (the backend's, with --url and --api-key on top) and its one client
    (None when the command talks to no Label Studio: `export --from-json`)."""
    from ocr_backend.cli.backend import settings_for
    from ocr_backend.cli.ls_client import LabelStudioClient

    settings = settings_for(args.url, args.api_key)
    return settings, LabelStudioClient.from_settings(settings) if client else None


def _annotate(args) -> int:
    from ocr_backend.cli import annotate

    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    settings, client = _connect(args)
    summary = annotate.annotate_project(
        client,
        args.project,
        settings,
        workers=args.workers,
        ray_address=args.ray,
        limit=args.limit,
        progress=not args.no_progress,
    )
    print(summary.report(), file=sys.stderr)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED_TASKS if summary.failed else 0


def _import_pdf(args) -> int:
    from ocr_backend.cli import import_pdf

    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    settings, client = _connect(args)  # bad settings stop the run before anything is uploaded
    summary = import_pdf.import_pdfs(
        client,
        args.project,
        args.paths,
        dpi=args.dpi,
        progress=not args.no_progress,
        text_layer=args.text_layer,
        verify_lines=args.verify_lines,
        settings=settings,
    )
    print(summary.report(), file=sys.stderr)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    failed = bool(summary.failed)
    if args.annotate and summary.task_ids:
        result = import_pdf.annotate_new_tasks(
            client, settings, args.project, summary.task_ids, args.workers, progress=not args.no_progress
        )
        print(result.report(), file=sys.stderr)
        if result.interrupted:
            return EXIT_INTERRUPTED
        failed = failed or bool(result.failed)
    return EXIT_FAILED_TASKS if failed else 0


def _export(args) -> int:
    from ocr_backend.cli import export_paddleocr

    settings, client = _connect(args, client=args.project is not None)
    summary = export_paddleocr.run_export(args, settings, client)
    print(summary.report(), file=sys.stderr)
    return EXIT_FAILED_TASKS if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
