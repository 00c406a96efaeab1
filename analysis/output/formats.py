"""The formats a document can be written in: one table from format name to renderer per kind of document.

`report`, `diff` and `history` choose their format the same way (`--format`, else
the one `-o FILE`'s extension names, else the kind's default) and render through
`FORMATS`, so a format added here is offered, inferred and rendered everywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from ..errors import UvscopeError
from ..untrusted import json_safe

Renderer = Callable[[dict[str, Any]], str]


def to_json(document: dict[str, Any]) -> str:
    """The document as indented JSON, ending with a newline: ASCII (every other character `\\u`-escaped, so
    no control character of an image's text is written), and valid Unicode (`untrusted.json_safe`)."""
    return json.dumps(json_safe(document), indent=2, ensure_ascii=True) + "\n"


# The Markdown and HTML writers import the analysis model; importing them only when a
# document is rendered keeps `uvscope --help` and argument errors fast.


def _report_md(document: dict[str, Any]) -> str:
    from .markdown import report_markdown

    return report_markdown(document) + "\n"


def _report_html(document: dict[str, Any]) -> str:
    from .html_report import report_html

    return report_html(document)


def _diff_md(document: dict[str, Any]) -> str:
    from .markdown import diff_markdown

    return diff_markdown(document) + "\n"


def _diff_html(document: dict[str, Any]) -> str:
    from .html_report import diff_html

    return diff_html(document)


def _history_md(document: dict[str, Any]) -> str:
    from .markdown import history_markdown

    return history_markdown(document) + "\n"


FORMATS: dict[str, dict[str, Renderer]] = {
    "report": {"json": to_json, "md": _report_md, "html": _report_html},
    "diff": {"md": _diff_md, "json": to_json, "html": _diff_html},
    "history": {"md": _history_md, "json": to_json},
}
"""Each kind of document's formats, its default first."""
FORMAT_OF_EXTENSION = {".json": "json", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def choose_format(kind: str, requested: str | None, output: str | None) -> str:
    """The format of a `kind` document: `--format`, else the one `-o FILE`'s extension names, else the kind's default.

    A `--format` that contradicts the extension (`--format json -o r.html`) is a usage error, and so is
    an extension naming a format this kind is not written in (`history -o h.html`) without `--format`.
    """
    formats = FORMATS[kind]
    implied = FORMAT_OF_EXTENSION.get(os.path.splitext(output or "")[1].lower())
    if implied is not None and implied not in formats and not requested:
        raise UvscopeError(f"-o {output}: {kind} is written as {' or '.join(formats)}, not {implied}; give --format or another name")
    if implied not in formats:
        implied = None
    if requested and implied and requested != implied:
        raise UvscopeError(f"--format {requested} contradicts -o {output} (a .{implied} file): drop one or make them agree")
    return requested or implied or next(iter(formats))


def render(kind: str, fmt: str, document: dict[str, Any]) -> str:
    """The `kind` document (`report`, `diff`, `history`) as text in the format `fmt`."""
    return FORMATS[kind][fmt](document)
