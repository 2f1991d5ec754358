"""Routing what a server and its app write into the output of the driver that runs them.

Server libraries log to process-wide loggers (``"uvicorn"``, ``"_granian"``), and an
app prints and logs to process-wide streams and the root logger; all are shared by
every harness in the process. A driver attaches the one capture handler to its
library's logger while it runs (:func:`capturing`), and marks its server task with
its output (:func:`route_to`); records made in that task, and in the tasks it spawns,
land in that output only, so concurrent harnesses' logs never mix.

:func:`capturing_app_output` does the same for what the app itself writes in-process:
``sys.stdout`` and ``sys.stderr`` are wrapped (everything still reaches them) and the
root logger gets the handler, so what the app printed or logged before it failed is
in the error's output tail.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, TextIO

from .output import OutputTail, traceback_tail

__all__ = ["HANDLER", "capturing", "capturing_app_output", "route_to", "routed"]

_output: contextvars.ContextVar[OutputTail | None] = contextvars.ContextVar(
    "liveharness_log_output", default=None
)
_attached: Counter[str] = Counter()
_lock = threading.Lock()

# Set on a record once it is kept, so that a handler met again on the way up the
# logger hierarchy (the library's logger, then the root) keeps it only once.
CAPTURED = "liveharness_captured"


class _CaptureHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        output = _output.get()
        if output is None or getattr(record, CAPTURED, False):
            return
        setattr(record, CAPTURED, True)
        try:
            text = f"{record.levelname}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + "\n".join(traceback_tail(record.exc_info[1]))
        except Exception:  # a broken log call must not break the server
            text = f"{record.levelname}: {record.msg!r}"
        output.append(text)


#: The one handler, attached to each captured logger while a driver needs it.
HANDLER = _CaptureHandler()


@contextlib.contextmanager
def capturing(logger_name: str) -> Iterator[None]:
    """Attach the capture handler to ``logger_name`` for the block (reference-counted)."""
    logger = logging.getLogger(logger_name)
    with _lock:
        if _attached[logger_name] == 0:
            logger.addHandler(HANDLER)
        _attached[logger_name] += 1
    try:
        yield
    finally:
        with _lock:
            _attached[logger_name] -= 1
            if _attached[logger_name] == 0:
                logger.removeHandler(HANDLER)


def route_to(output: OutputTail) -> None:
    """Send captured records made from now on in this task (and tasks it spawns) to ``output``.

    Call it at the start of the server's own task: the task's context is its own copy.
    """
    _output.set(output)


@contextlib.contextmanager
def routed(output: OutputTail) -> Iterator[None]:
    """As :func:`route_to`, for the block only (synchronous code, e.g. importing the app)."""
    token = _output.set(output)
    try:
        yield
    finally:
        _output.reset(token)


class _RoutedStream:
    """``sys.stdout`` or ``sys.stderr`` as before, also copied to the routed output."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        written = self._inner.write(text)
        output = _output.get()
        if output is not None:
            output.write(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


_streams: dict[str, _RoutedStream] = {}
_app_captures = 0


@contextlib.contextmanager
def capturing_app_output() -> Iterator[None]:
    """While any block is inside, copy the standard streams and the root logger's
    records to the routed output (reference-counted across harnesses and threads)."""
    global _app_captures
    with _lock:
        if _app_captures == 0:
            logging.getLogger().addHandler(HANDLER)
            for name in ("stdout", "stderr"):
                stream = _RoutedStream(getattr(sys, name))
                _streams[name] = stream
                setattr(sys, name, stream)
        _app_captures += 1
    try:
        yield
    finally:
        with _lock:
            _app_captures -= 1
            if _app_captures == 0:
                logging.getLogger().removeHandler(HANDLER)
                for name, stream in _streams.items():
                    # Someone (pytest's capture) may have replaced it meanwhile: leave theirs.
                    if getattr(sys, name) is stream:
                        setattr(sys, name, stream._inner)
                _streams.clear()
