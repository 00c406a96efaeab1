"""`uvscope report IMAGE`: the report in any format, from the analysis cache when it has one; with `--ci`, the rules' verdict."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from uvscope.analysis.output.formats import choose_format, render

from .shared import layer_cache, read_image_keyed


def _cached_report(args: argparse.Namespace) -> int | None:
    """`uvscope report` of an image reported before with the same project and uvscope: one record, no image model."""
    from uvscope.analysis.packages.analysis_cache import analysis_key, get_report
    from uvscope.analysis.read.sources import open_source
    from uvscope.app import __version__

    cache = layer_cache(args)
    if cache is None or args.ci:
        return None
    opened = open_source(args.image, args.source, platform=args.platform, stream=args.stream)
    try:
        key = analysis_key(opened, args.project, getattr(args, "package", None))
    finally:
        opened.close()
    found = get_report(cache, key, __version__) if key is not None else None
    if found is None:
        return None
    document, warnings = found
    for warning in warnings:
        print(f"uvscope: warning: {warning}", file=sys.stderr)
    _write_report(args, document)
    return 0


def _write_report(args: argparse.Namespace, document: dict) -> None:
    text = render("report", args.format, document)
    if args.output:
        from uvscope.analysis.files import write_file

        write_file(args.output, text.encode())
    elif not args.ci:
        sys.stdout.write(text)


def report_command(args: argparse.Namespace) -> int:
    """`uvscope report IMAGE`: the report, from the cache when it has one; with `--ci`, the rules' verdict too."""
    args.format = choose_format("report", args.format, args.output)
    rules = None
    if args.ci:
        from uvscope.analysis.output.ci import load_rules

        rules = load_rules(args.project, args.ci_config)  # before anything is read or written: a bad rule is exit 2
    else:
        done = _cached_report(args)
        if done is not None:
            return done
    image, python, key, warnings = read_image_keyed(args, args.image, args.source, args.platform, args.project)
    return _report(args, image, python, rules, key, warnings)


def _report(args: argparse.Namespace, image, python, rules, key: str | None = None, warnings: Sequence[str] = ()) -> int:
    from uvscope.analysis.output.report import build_report
    from uvscope.app import __version__

    document = build_report(image, python, version=__version__)
    results = []
    if rules is not None:
        from uvscope.analysis.output.ci import evaluate

        results = evaluate(rules, image, python)
        document["ci"] = {
            "origin": rules.origin,
            "rules": rules.rules,
            "results": [{"rule": r.rule, "status": r.status, "detail": r.detail} for r in results],
            "passed": not any(r.status == "FAIL" for r in results),
        }
    cache = layer_cache(args)
    if cache is not None and key is not None and rules is None:
        from uvscope.analysis.packages.analysis_cache import put_report

        put_report(cache, key, __version__, document, warnings)
    _write_report(args, document)
    if rules is None:
        return 0
    from uvscope.analysis.output.ci import describe

    print(f"{rules.origin}: {describe(rules.rules)}")
    for result in results:
        print(f"{result.status:<4}  {result.rule}: {result.detail}")
    failed = [r for r in results if r.status == "FAIL"]
    print(f"{'FAIL' if failed else 'PASS'}: {len(results) - len(failed)} of {len(results)} rules passed or skipped")
    return 1 if failed else 0
