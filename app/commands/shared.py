"""What several commands share: the layer cache their options name, reading an image with its analysis,
the warnings a read says on stderr, writing a document to `-o` or standard output, ending a session fast."""

from __future__ import annotations

import argparse
import gc
import os
import sys


def layer_cache(args: argparse.Namespace):
    from uvscope.analysis.read.cache import LayerCache

    return None if args.no_cache else LayerCache(args.cache_dir)


def end_session(code: int) -> int:
    """End the process as soon as a session is over: `q` means gone within a second.

    Every file write is complete by now (the writer fsyncs and renames; worker threads that
    still run, such as a grouping write, are waited for), so the interpreter's teardown of
    a large analysed image, which can take longer than the session's own shutdown, is skipped.
    """
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def emit(text: str, output: str | None) -> None:
    if output:
        from uvscope.analysis.files import write_file

        write_file(output, text.encode())
    else:
        sys.stdout.write(text)


def read_image(
    args: argparse.Namespace, ref: str, source: str = "auto", platform: str | None = None, project: str | None = None, warn: bool = True
):
    image, python, _, _ = read_image_keyed(args, ref, source, platform, project, warn)
    return image, python


def read_image_keyed(
    args: argparse.Namespace, ref: str, source: str = "auto", platform: str | None = None, project: str | None = None, warn: bool = True
):
    """`_read`, the key of its analysis in the cache (None without a cache), and the warnings it said."""
    from uvscope.analysis.packages.analysis_cache import analysis_key, read_and_analyse
    from uvscope.analysis.read.sources import open_source

    opened = open_source(ref, source, platform=platform, stream=args.stream)
    cache = layer_cache(args)
    # The model is ~10 objects per file and has no cycles: the cyclic collector would only
    # rescan it again and again while it grows (about a tenth of the cold time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        key = analysis_key(opened, project, getattr(args, "package", None)) if cache is not None else None
        image, python = read_and_analyse(opened, project, getattr(args, "package", None), cache=cache, key=key)
    finally:
        opened.close()
        if collecting:
            gc.enable()
    if warn:
        print_warnings(opened.notes, python)
    return image, python, key, read_warnings(opened.notes, python)


def read_warnings(notes, python) -> list[str]:
    return [*notes, *python.warnings]


def print_warnings(notes, python) -> None:
    """What the read could not do as asked, one line each on stderr (the report carries them too)."""
    for warning in read_warnings(notes, python):
        print(f"uvscope: warning: {warning}", file=sys.stderr)
