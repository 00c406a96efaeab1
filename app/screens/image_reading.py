"""Reading one image for the main screen: the thread worker, its progress and the status line.

`ImageReadingScreen` opens the source in a thread worker, posts the image's
metadata first (the layer list is painted from it), then throttled progress,
then partial analyses while layers are still being read and the whole one at
the end; `MainScreen` derives from it and shows what arrives. A read that
fails (`WorkerScreen`) keeps what was read usable.

The first paint waits for as little as possible: this module imports only
what the status line needs (the readers and the analysis are imported by the
worker), an engine image's metadata is peeked from the engine's storage
before docker-py is even imported, and the worker holds back its heavy
imports until the layer list is on screen (the GIL is shared).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.widgets import ProgressBar, Static
from textual.worker import get_current_worker

from uvscope.analysis.errors import ReadCancelled
from uvscope.analysis.output.text import count
from uvscope.widgets.text import plain

if TYPE_CHECKING:
    from uvscope.analysis.image.model import Image, ImageMeta, LayerContents
    from uvscope.analysis.packages.python import PythonAnalysis
    from uvscope.analysis.read.sources import ImageSource

from .base import WorkerScreen

PARTIAL_EVERY = 1.0
"""Seconds between partial analyses while layers are still being read."""

PAINT_WAIT = 1.0
"""At most this many seconds the worker waits for the layer list to be painted before it goes on."""


@dataclass(frozen=True)
class ImageRequest:
    """What the user asked to open."""

    ref: str
    source: str = "auto"
    platform: str | None = None
    project: str | None = None
    cache_dir: str | None = None
    no_cache: bool = True
    stream: bool = False
    target: str = ""
    """The project's Dockerfile stage the image is built from (`--target`; empty: its last)."""


class _Monitor:
    """Reports read progress to the screen (throttled) and stops the read when the worker is cancelled."""

    def __init__(self, screen: ImageReadingScreen, total: int | None) -> None:
        self.screen = screen
        self.worker = get_current_worker()
        self.total = total
        self.done = 0
        self._last = 0.0

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        now = time.monotonic()
        if now - self._last > 0.1:
            self._last = now
            self.screen.post_message(ImageReadingScreen.Progress(self.done, self.total))

    @property
    def cancelled(self) -> bool:
        return self.worker.is_cancelled


class ImageReadingScreen(WorkerScreen):
    """A screen that reads one image (`request`) in a thread worker and says how far it got in `#status` and
    `#progress`; the screen deriving from it composes those and shows the messages it posts."""

    # the messages keep the names they had when they were `MainScreen`'s own (`on_main_screen_loaded`, ...)
    class MetaLoaded(Message, namespace="main_screen"):
        """The image's metadata is known (first paint)."""

        def __init__(self, meta: ImageMeta, total: int | None) -> None:
            super().__init__()
            self.meta = meta
            self.total = total

    class Progress(Message, namespace="main_screen"):
        """More bytes of the image were read."""

        def __init__(self, done: int, total: int | None) -> None:
            super().__init__()
            self.done = done
            self.total = total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ImageReadingScreen.Progress)

    class Loaded(Message, namespace="main_screen"):
        """Layers were read and analysed (`partial` while more are coming)."""

        def __init__(self, image: Image, python: PythonAnalysis, partial: bool) -> None:
            super().__init__()
            self.image = image
            self.python = python
            self.partial = partial

    def __init__(self, request: ImageRequest, open_source=None) -> None:
        super().__init__()
        self.request = request
        self.open_source = open_source
        """How the image is opened: None for `open_source`, which also lets the first paint peek at the engine's storage."""
        self.meta: ImageMeta | None = None
        self.image: Image | None = None
        self.python: PythonAnalysis | None = None
        self.complete = False
        self._peek_only = False
        """The layer list shows metadata peeked from the engine's storage that the engine has not confirmed yet."""
        self._notes: tuple[str, ...] = ()
        self._source: ImageSource | None = None
        """The source being read (its `path_used` says whether the engine's export stream is awaited)."""
        self._read_started: float | None = None
        self._read_bytes = 0
        self._store: tuple[object, str | None] = (None, None)
        """Where the finished analysis is kept (the layer cache, its key): a second session reads it whole."""
        self._painted = threading.Event()
        """Set once the layer list from the metadata is on screen: the worker's heavy imports wait for it."""

    def _tick(self) -> None:
        """While nothing has arrived yet, say what is being waited for and for how long."""
        if self.complete or self.error is not None or self._read_started is None or self._read_bytes:
            return
        elapsed = time.monotonic() - self._read_started
        if getattr(self._source, "path_used", "") == "stream":
            self._status(f"the engine is preparing the image export… {elapsed:.0f} s (q quits at once)")
        elif elapsed >= 2 and self.meta is not None:
            self._status(f"{count(len(self.meta.diff_ids), 'layer')}; reading… {elapsed:.0f} s")

    # -- reading -----------------------------------------------------------------

    def _peek_meta(self) -> ImageMeta | None:
        """The engine image's metadata from the engine's own storage, before docker-py is imported (None if not)."""
        request = self.request
        from uvscope.analysis.read.kinds import names_engine_image

        if self.open_source is not None or not names_engine_image(request.ref, request.source):
            return None
        from uvscope.analysis.read.engine import peek_local_meta

        try:
            return peek_local_meta(request.ref)
        except Exception:  # noqa: BLE001 - a guess: the engine's API answers next anyway
            return None

    @work(thread=True, exclusive=True, exit_on_error=False, group="read", name="reading the image")
    def read_image(self, peeked: ImageMeta | None = None) -> None:
        """Open the source, then read and analyse every layer (a failure: `worker_failed`); `peeked`: the
        metadata already painted from the engine's storage (the engine's API confirms it here)."""
        request = self.request
        if peeked is not None:
            worker, waited = get_current_worker(), 0.0
            while not self._painted.wait(0.05) and waited < PAINT_WAIT:  # `q` meanwhile ends the wait at once
                if worker.is_cancelled:
                    return
                waited += 0.05
        from uvscope.analysis.read.sources import ImageSource, open_source

        opener = self.open_source or open_source
        if request.stream:
            source: ImageSource = opener(request.ref, request.source, platform=request.platform, stream=True)
        else:
            source = opener(request.ref, request.source, platform=request.platform)
        self._source = source
        try:
            meta = source.meta()
            self._peek_only = False
            self._read_started = self._read_started or time.monotonic()
            if meta != peeked:
                self.post_message(self.MetaLoaded(meta, source.total_bytes()))
            else:  # the peek was right: only the progress bar learns the total
                self.post_message(self.Progress(0, source.total_bytes()))
            monitor = _Monitor(self, source.total_bytes())
            contents: dict[int, LayerContents] = {}
            last = time.monotonic()
            from uvscope.analysis.packages.analysis_cache import analysis_key, get_analysis
            from uvscope.analysis.read.cache import LayerCache

            cache = None if request.no_cache else LayerCache(request.cache_dir)
            key = analysis_key(source, request.project, None) if cache is not None and isinstance(source, ImageSource) else None
            if key is not None:
                found = get_analysis(cache, key)  # type: ignore[arg-type]
                if found is not None:
                    self.post_message(self.Loaded(found[0], found[1], False))
                    return
            self._store = (cache, key)
            for index, layer in source.read_layers(monitor, cache):
                contents[index] = layer
                ready = 0
                while ready in contents:
                    ready += 1
                if ready < len(meta.diff_ids) and time.monotonic() - last > PARTIAL_EVERY and ready:
                    last = time.monotonic()
                    self._post_analysis(meta, contents, ready, request.project, partial=True)
            meta = source.meta()
            self._notes = tuple(getattr(source, "notes", ()))  # sources outside ImageSource (test doubles) have none
            self._post_analysis(meta, contents, len(meta.diff_ids), request.project, partial=False)
        except ReadCancelled:
            return
        finally:
            source.close()

    def _post_analysis(self, meta: ImageMeta, contents: dict, count: int, project: str | None, partial: bool) -> None:
        from uvscope.analysis.image.stack import build_image
        from uvscope.analysis.packages.analysis_cache import put_analysis
        from uvscope.analysis.packages.python import analyse_python

        prefix = replace(meta, diff_ids=meta.diff_ids[:count], created_by=meta.created_by[:count])
        image = build_image(prefix, [contents[index] for index in range(count)])
        if not partial and self._notes:
            image = replace(image, warnings=self._notes + image.warnings)
        python = analyse_python(image, project)
        cache, key = self._store
        if not partial and key is not None:
            put_analysis(cache, key, image, python)  # type: ignore[arg-type]
        self.post_message(self.Loaded(image, python, partial))

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        if message.done and not self._read_bytes and self.meta is not None and not self.complete:
            self._status(f"{count(len(self.meta.diff_ids), 'layer')}; reading…")
        self._read_bytes = message.done
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(plain(text))
        status.set_class(error, "-error")
