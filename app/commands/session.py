"""`uvscope IMAGE` (`open`) and `uvscope demo`: the interactive session, or a text summary off a terminal."""

from __future__ import annotations

import argparse
import os
import sys

from . import shared
from .shared import read_image


def _check_target(folder: str, target: str) -> None:
    """`--target STAGE` names a stage of the project's Dockerfile: else one line now, before the image is read."""
    from uvscope.analysis.errors import UvscopeError
    from uvscope.analysis.packages.build_file import project_dockerfile
    from uvscope.analysis.plan.build_shape import ProjectDockerfile
    from uvscope.analysis.plan.project_files import read_project_file

    path = project_dockerfile(folder)
    if not os.path.isfile(path):
        raise UvscopeError(f"--target {target}: no Dockerfile or Containerfile in {folder} to build it from")
    _ = ProjectDockerfile(read_project_file(path).text, target).current


def open_command(args: argparse.Namespace) -> int:
    """`uvscope IMAGE`: the session on a terminal, else (or with `--summary`) a text summary."""
    if getattr(args, "target", ""):
        _check_target(args.project or ".", args.target)
    if sys.stdout.isatty() and not args.summary:
        from uvscope.app.app import make_app, run_session

        app = make_app(
            args.image,
            args.source,
            args.platform,
            args.project,
            cache_dir=args.cache_dir,
            no_cache=args.no_cache,
            stream=args.stream,
            target=getattr(args, "target", ""),
        )
        return shared.end_session(run_session(app))
    from uvscope.analysis.output.text import summary_lines

    image, python = read_image(args, args.image, args.source, args.platform, args.project)
    sys.stdout.write("\n".join(summary_lines(image, python)) + "\n")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """`uvscope demo`: build the demo image (an OCI layout) on first use, then open it as `open` does."""
    import time

    from uvscope.app.demo import IMAGE_NAME, build_demo_image, cache_folder

    if args.rebuild:
        (cache_folder() / IMAGE_NAME).unlink(missing_ok=True)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"uvscope: {text} ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)

    args.image = str(build_demo_image(progress=say))
    return open_command(args)
