"""`uvscope diff IMAGE_A IMAGE_B`: what changed between two images, and what pulling B costs when you have A."""

from __future__ import annotations

import argparse
import sys

from uvscope.analysis.output.formats import choose_format, render

from . import shared
from .shared import emit, layer_cache, read_image


def diff_command(args: argparse.Namespace) -> int:
    """`uvscope diff A B`: the session on a terminal, else the diff document in the chosen format."""
    from uvscope.analysis.output.diff import diff_images

    if sys.stdout.isatty() and not args.output and not args.print and not args.format:
        from uvscope.app.app import make_diff_app, run_session

        app = make_diff_app(
            args.image_a, args.image_b, args.source, args.project, layer_cache(args), platform=args.platform, stream=args.stream
        )
        return shared.end_session(run_session(app))
    fmt = choose_format("diff", args.format, args.output)
    image_a, python_a = read_image(args, args.image_a, args.source, args.platform, args.project)
    image_b, python_b = read_image(args, args.image_b, args.source, args.platform, args.project)
    emit(render("diff", fmt, diff_images(image_a, python_a, image_b, python_b)), args.output)
    return 0
