"""Text from an image, made safe for the reader it is shown to.

Everything inside an image is someone else's text: layer commands, file names,
labels, every dist-info file, the `uv.lock` it carries. The model keeps that
text exactly as the image has it (JSON reports carry it unchanged); each output
escapes it for its reader through the functions here, and nowhere else:

- `shown`: for a terminal (the summary, CI output, errors, the session). Control
  characters (C0, DEL, C1), Unicode line separators and bidirectional overrides
  are written as visible escapes (`\\x1b`, `\\u202e`), so no ESC sequence, BEL or
  OSC from an image ever reaches the terminal. A byte of a name that is not UTF-8
  (held as Python's `surrogateescape`, U+DC80 + byte) is shown as `\\xNN`.
- `md_code`, `md_text`, `md_prose`: for Markdown. Image values become code spans
  that can't be closed from inside; prose is escaped so no markup or HTML forms.
- `html_text`: for HTML (escaped, and `shown`).
- `json_safe`: for JSON (valid Unicode, with the exact bytes of a non-UTF-8 name kept).

`shown` is idempotent: what it returns holds no character it would escape.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Control characters (C0, DEL, C1), line and paragraph separators, bidi marks and overrides, lone surrogates."""
_UNSAFE_IN_LINES = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]|\r(?!\n)"
)
"""As `_UNSAFE`, but newlines, tabs and CRLF line ends are text, not controls."""


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as surrogateescape holds it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """`text` as it may be written to a terminal on one line: every control character visible (`\\x1b`, `\\n`)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def shown_lines(text: str) -> str:
    """As `shown`, keeping newlines, tabs and CRLF line ends: for whole outputs (a summary, a diff, an error)."""
    return _UNSAFE_IN_LINES.sub(_escape, text) if _UNSAFE_IN_LINES.search(text) else text


def is_shown(text: str) -> bool:
    """True when `text` holds nothing `shown_lines` would escape (no terminal control of any kind)."""
    return _UNSAFE_IN_LINES.search(text) is None


# Markdown. Image values go in code spans: inside one nothing is markup, no HTML, no link.


def md_code(value: str, *, in_table: bool = False) -> str:
    """`value` as a Markdown code span that nothing inside it can close or break.

    The fence is one backtick longer than the longest run inside; a value that starts or ends
    with a backtick or space is padded. In a table cell a `|` is escaped (`\\|`), which GFM
    removes again inside code spans too. Empty text gives an empty string (no span).
    """
    text = shown(value)
    if not text:
        return ""
    if in_table:
        text = text.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    return f"{fence}{text}{fence}"


_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
"""What forms markup inside a line or cell: escapes, code, emphasis, links and images, cells, strikethrough
(`#`, `-`, `+` and `>` act only at a line's start, where no value is put)."""


def md_text(value: str) -> str:
    """`value` as plain Markdown text: nothing in it forms emphasis, a link, a table cell or HTML.

    Markdown's active punctuation is backslash-escaped, `<`, `>` and `&` become entities, and
    control characters and newlines are shown (`shown`), so a value never leaves its line or cell.
    """
    text = html.escape(shown(value), quote=False)
    return _MD_PUNCTUATION.sub(r"\\\1", text)


_PROSE_CODE = re.compile(r"`([^`]+)`")


def md_prose(text: str, *, in_table: bool = False) -> str:
    """uvscope's own sentence (a finding) whose `backticked` parts are values: each part as a code span, the rest escaped.

    Whatever the values hold, the result is only text and code spans.
    """
    parts = []
    at = 0
    for match in _PROSE_CODE.finditer(text):
        parts.append(md_text(text[at : match.start()]))
        parts.append(md_code(match.group(1), in_table=in_table))
        at = match.end()
    parts.append(md_text(text[at:]))
    return "".join(parts)


def quoted(value: str) -> str:
    """`value` backticked inside a sentence of uvscope's (a finding's detail): a backtick inside becomes `'`,
    so the sentence's code parts stay where they are in every format."""
    return "`" + value.replace("`", "'") + "`"


# HTML.


def html_text(value: str) -> str:
    """`value` for an HTML element or attribute: escaped, control characters shown."""
    return html.escape(shown(value))


def html_prose(text: str) -> str:
    """uvscope's own sentence whose `backticked` parts are values, as HTML with `<code>` for those parts."""
    parts = []
    at = 0
    for match in _PROSE_CODE.finditer(text):
        parts.append(html_text(text[at : match.start()]))
        parts.append(f"<code>{html_text(match.group(1))}</code>")
        at = match.end()
    parts.append(html_text(text[at:]))
    return "".join(parts)


# JSON.

_SURROGATE = re.compile("[\ud800-\udfff]")


def _raw_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte (from a JSON config, say)
        return text.encode("utf-8", "surrogatepass")


def json_safe(value: Any) -> Any:
    """`value` (a document of dicts, lists and scalars) with every string valid Unicode.

    A name that is not UTF-8 in the image is held with lone surrogates (`surrogateescape`); JSON
    can't carry those as text. Such a string is written with U+FFFD for each byte that is not
    UTF-8, and, in an object, the exact bytes beside it under `KEY_base64` (`"path_base64"`).
    Every other string is kept exactly.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            safe_key = json_safe(key) if isinstance(key, str) else key
            result[safe_key] = json_safe(item)
            if isinstance(item, str) and _SURROGATE.search(item):
                result[f"{safe_key}_base64"] = base64.b64encode(_raw_bytes(item)).decode("ascii")
        return result
    return value
