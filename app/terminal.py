"""The command line's own streams: nothing an image holds is written to the terminal as a control.

Every line the commands print (the summary, `--ci` results, the optimizer's diffs, warnings
and errors) may quote an image's text: a layer command, a file name, a package's version.
`safe_streams` puts a filter in front of stdout and stderr for the whole command, so each
write is passed through `untrusted.shown_lines` (newlines and tabs kept, every other control
character written visibly as `\\x1b`). uvscope's own text holds no control characters, so
the filter changes nothing else. The session is not affected: Textual writes to the
terminal through its own driver, and its widgets show image text through `widgets.text`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from uvscope.analysis.untrusted import shown_lines


class ShownStream:
    """A text stream that writes `shown_lines(text)` to the stream it wraps; everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(shown_lines(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextmanager
def safe_streams() -> Iterator[None]:
    """stdout and stderr filtered by `ShownStream` while the block runs (nested uses filter once)."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, ShownStream):
        sys.stdout = ShownStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, ShownStream):
        sys.stderr = ShownStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
