"""Command line: `uvscope IMAGE`, `uvscope report IMAGE`, ...

This module builds the parser and dispatches: each command runs in its own module of
`app/commands/`, and the work is done by `uvscope.analysis`. Errors the user can act on
end the command with one line on stderr and exit code 2 (`_main` says them all).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from uvscope.analysis.errors import GroupingError, NothingToDo, UvscopeError
from uvscope.analysis.output.formats import FORMATS
from uvscope.analysis.read.kinds import SOURCE_KINDS

from .commands.diff import diff_command
from .commands.history import history_command
from .commands.optimize import optimize_command
from .commands.report import report_command
from .commands.session import demo_command, open_command

# The readers, the planner and the package's version are imported where used (the command modules
# import only the standard library and the formats at the top): `uvscope IMAGE` paints its first screen sooner.

COMMANDS = ("open", "report", "demo", "optimize", "diff", "history")


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", metavar="DIR", help="where read layers are cached (default: $XDG_CACHE_HOME/uvscope)")
    parser.add_argument("--no-cache", action="store_true", help="neither use nor fill the layer cache")
    parser.add_argument("--stream", action="store_true", help="read through `docker save` even when the engine's storage is readable")


def _add_read_options(parser: argparse.ArgumentParser, images: str = "IMAGE") -> None:
    """How `images` are opened and read: the same options on every command that reads an image."""
    parser.add_argument(
        "--source",
        choices=SOURCE_KINDS,
        default="auto",
        help=f"where to read {images} from (auto: an existing file or folder is an archive or OCI layout, else the engine)",
    )
    parser.add_argument("--platform", help=f"os/arch[/variant] of {images} to pick from a multi-platform layout (default: this host's)")
    _add_cache_options(parser)


def _add_image_options(parser: argparse.ArgumentParser) -> None:
    """IMAGE, how it is read, and the uv project it is compared with: `open` and `report`."""
    parser.add_argument("image", metavar="IMAGE", help="engine reference, docker-save archive, or OCI layout (folder or tar)")
    _add_read_options(parser)
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="uv project whose uv.lock the image is compared with (default: the current folder's, else the image's own)",
    )


def _add_output_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """`--format` and `-o` of a command that writes a `kind` document (formats from `FORMATS`)."""
    formats = tuple(FORMATS[kind])
    parser.add_argument("--format", choices=formats, help=f"output format (default: from -o's extension, else {formats[0]})")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")


class _VersionAction(argparse.Action):
    """`--version`: the version is looked up only when asked for (see `uvscope.app.__getattr__`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help="show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"uvscope {__version__}")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (and where to read more) instead of the usage block."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.removeprefix("uvscope").strip()
        self.exit(2, f"uvscope: error: {message} (see `uvscope {command + ' ' if command else ''}--help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `uvscope` command; each command's `func` runs it."""
    parser = _Parser(
        prog="uvscope",
        description="See where every byte of a Python project's Docker image comes from.",
        epilog="Run `uvscope IMAGE` for the interactive session, `uvscope report IMAGE` for a report.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    open_parser = commands.add_parser("open", help="open IMAGE in the interactive session (the default command)")
    _add_image_options(open_parser)
    open_parser.add_argument(
        "--target",
        metavar="STAGE",
        default="",
        help="the project's Dockerfile stage the image is built from, as `docker build --target`: the grouping editor's preview and write follow it",
    )
    open_parser.add_argument("--summary", action="store_true", help="print a text summary instead of the session")
    open_parser.set_defaults(func=open_command)
    demo = commands.add_parser("demo", help="open the built-in demo image (built on first use, no Docker Engine needed)")
    demo.add_argument("--rebuild", action="store_true", help="build the demo image again")
    demo.add_argument("--summary", action="store_true", help="print a text summary instead of the session")
    demo.set_defaults(func=demo_command, source="oci", platform=None, project=None, cache_dir=None, no_cache=False, stream=False)
    report = commands.add_parser("report", help="write a report of IMAGE")
    _add_image_options(report)
    _add_output_options(report, "report")
    report.add_argument("--ci", action="store_true", help="check the rules of [tool.uvscope.ci]; exit 1 if one fails")
    report.add_argument(
        "--ci-config",
        metavar="FILE",
        help="read the CI rules from this file instead: TOML, or dive's YAML .dive-ci (camelCase rule names)",
    )
    report.set_defaults(func=report_command)
    optimize = commands.add_parser(
        "optimize", help="give heavy dependencies their own cached layer: write dependency groups and a revised Dockerfile"
    )
    optimize.set_defaults(func=optimize_command)
    optimize.add_argument("--project", metavar="DIR", default=".", help="the uv project (default: the current folder)")
    optimize.add_argument(
        "--image",
        metavar="IMAGE",
        help="an image built from the project: installed package sizes for --suggest and the preview (default: uv.lock's wheel sizes)",
    )
    _add_read_options(optimize, "--image")
    optimize.add_argument(
        "--dockerfile", metavar="PATH", help="the Dockerfile to rewrite (default: DIR/Dockerfile, else DIR/Containerfile)"
    )
    optimize.add_argument("--package", metavar="MEMBER", help="the workspace member the image is built for")
    optimize.add_argument(
        "--target",
        metavar="STAGE",
        default="",
        help="the Dockerfile's stage the image is built from, as `docker build --target` (default: its last)",
    )
    optimize.add_argument(
        "--group",
        metavar="NAME=PKG[,PKG...]",
        action="append",
        default=[],
        help="a group and its direct dependencies, bottom layer first; repeat",
    )
    optimize.add_argument(
        "--suggest",
        action="store_true",
        help="use uvscope's suggestion instead of --group: the grouping that would have pushed the fewest bytes over "
        "uv.lock's git history, else heavy, rarely changing closures",
    )
    optimize.add_argument(
        "--history-images",
        metavar="REPO|IMAGE,IMAGE[,...]",
        help="with --suggest: plan from the changes between images instead of uv.lock's git history: every tag of "
        "REPO (a name with no tag: the engine's local tags, as `uvscope history REPO`; registry://HOST/REPO: the "
        "registry's tags) or the images given; ordered by creation time, each change sized by its own image",
    )
    optimize.add_argument(
        "--max-groups", metavar="K", type=int, default=3, help="with --suggest: at most K groups below the rest (default: 3)"
    )
    mode = optimize.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the files (pyproject.toml, uv.lock, Dockerfile)")
    mode.add_argument("--dry-run", action="store_true", help="only show the diffs (the default)")
    mode.add_argument(
        "--prove",
        action="store_true",
        help="build the original and the revised Dockerfile in scratch copies, bump the version and add a light "
        "dependency, rebuild, and print what each re-creates (needs Docker with BuildKit; writes nothing)",
    )
    optimize.add_argument(
        "--docker-build-option",
        metavar="OPTION",
        action="append",
        default=[],
        help="with --prove: an option for `docker build` (e.g. --docker-build-option=--network=host); repeat",
    )
    optimize.add_argument(
        "--prove-dependency", metavar="NAME", help="with --prove: the new light dependency (default: a small package not yet locked)"
    )
    optimize.add_argument(
        "--prove-registry",
        metavar="HOST:PORT",
        help="with --prove: push to this registry (plain HTTP on loopback) instead of a docker-registry --prove starts",
    )
    optimize.add_argument(
        "--prove-cold",
        action="store_true",
        help="with --prove: rebuild after the change on a throwaway engine with an empty BuildKit cache, importing "
        "only the previous image's cache from the registry, as a CI runner (needs root and dockerd)",
    )
    optimize.add_argument("--no-push", action="store_true", help="with --prove: do not push the images (no bytes-pushed figures)")
    optimize.add_argument(
        "--keep-images",
        action="store_true",
        help="with --prove: keep the four images (tagged uvscope-prove/MEMBER:LABEL-WHEN-RUN, listed in the output) and "
        "what was pushed to a --prove-registry (a registry --prove starts goes with its scratch folder)",
    )
    optimize.add_argument(
        "--format",
        choices=("md", "json"),
        default="md",
        help="output format (default: md); json prints the groups, the history plan with its replayed totals per step, "
        "the preview, the diffs and what was written (with --prove: the proof)",
    )
    diff = commands.add_parser("diff", help="what changed between two images, and what pulling B costs when you have A")
    diff.set_defaults(func=diff_command)
    diff.add_argument("image_a", metavar="IMAGE_A")
    diff.add_argument("image_b", metavar="IMAGE_B")
    _add_read_options(diff, "IMAGE_A and IMAGE_B")
    diff.add_argument("--project", metavar="DIR", help="uv project whose uv.lock the images are compared with")
    _add_output_options(diff, "diff")
    diff.add_argument("--print", action="store_true", help="print the report even on a terminal (no session)")
    history = commands.add_parser("history", help="churn across the tags of a repository, and across the history of uv.lock")
    history.set_defaults(func=history_command)
    history.add_argument(
        "images",
        metavar="REPO_OR_IMAGE",
        nargs="*",
        help="a repository (all its local tags; registry://HOST/REPO: the registry's tags) or several images",
    )
    history.add_argument("--tags", help="only these tags of REPO, comma separated")
    history.add_argument("--lock-history", metavar="DIR", help="walk the git history of DIR/uv.lock")
    history.add_argument("--image", metavar="IMAGE", help="with --lock-history: package sizes from this image")
    history.add_argument("--group", metavar="NAME=PKG[,PKG...]", action="append", default=[], help="a proposed group, for the estimate")
    history.add_argument("--package", metavar="MEMBER", help="the workspace member the image is built for")
    _add_cache_options(history)
    _add_output_options(history, "history")
    history.add_argument("--print", action="store_true", help="print the report even on a terminal (no session)")
    return parser


REPORT_ONLY_OPTIONS = ("--ci", "--ci-config", "--format", "-o", "--output")
"""Options of `report` a user may give `uvscope IMAGE` (dive takes `dive IMAGE --ci`)."""


def _mistyped_command(word: str) -> str | None:
    """`did you mean report?` for a word that is close to a command and is not an image we can find."""
    import difflib

    if os.path.exists(word) or any(mark in word for mark in ":/@."):
        return None  # a path, a tagged reference or a registry address: an image
    close = difflib.get_close_matches(word.lower(), COMMANDS, n=1, cutoff=0.7)
    if not close:
        return None
    return f"no command {word!r}: did you mean `uvscope {close[0]}`? (commands: {', '.join(COMMANDS)})"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `uvscope` console script: every line it prints is shown safely (`terminal.safe_streams`)."""
    from .terminal import safe_streams

    with safe_streams():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and not arguments[0].startswith("-") and arguments[0] not in COMMANDS:
        mistake = _mistyped_command(arguments[0])
        if mistake:
            print(f"uvscope: error: {mistake}", file=sys.stderr)
            return 2
        misplaced = sorted(set(arguments) & set(REPORT_ONLY_OPTIONS))
        if misplaced:
            print(
                f"uvscope: error: {', '.join(misplaced)} belongs to `uvscope report`: "
                f"uvscope report {arguments[0]} {' '.join(arguments[1:])}",
                file=sys.stderr,
            )
            return 2
        arguments.insert(0, "open")
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except NothingToDo as done:
        print(f"uvscope: {done}")
        return 0
    except UvscopeError as error:
        print(f"uvscope: error: {error}", file=sys.stderr)
        return error.exit_code
    except GroupingError as error:  # a bad --group option
        print(f"uvscope: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside a write (a write's own handler says which files are in which state)
        print("uvscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # a bug: say so in one line; the traceback on request
        if os.environ.get("UVSCOPE_DEBUG"):
            traceback.print_exc()
        print(f"uvscope: internal error: {type(error).__name__}: {error} (set UVSCOPE_DEBUG=1 for details)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
