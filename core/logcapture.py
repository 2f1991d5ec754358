"""Routing a server library's log records into the output of the driver that caused them.

Server libraries log to process-wide loggers (``"uvicorn"``, ``"_granian"``), shared by
every harness in the process. A driver attaches the one capture handler to its
library's logger while it runs (:func:`capturing`), and marks its server task with
its output (:func:`route_to`); records made in that task, and in the tasks it spawns,
land in that output only, so concurrent harnesses' logs never mix.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import traceback
from collections import Counter
from collections.abc import Iterator

from .drivers import OutputTail

__all__ = ["HANDLER", "capturing", "route_to"]

_output: contextvars.ContextVar[OutputTail | None] = contextvars.ContextVar(
    "liveharness_log_output", default=None
)
_attached: Counter[str] = Counter()


class _CaptureHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        output = _output.get()
        if output is None:
            return
        try:
            text = f"{record.levelname}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        except Exception:  # a broken log call must not break the server
            text = f"{record.levelname}: {record.msg!r}"
        output.append(text)


#: The one handler, attached to each captured logger while a driver needs it.
HANDLER = _CaptureHandler()


@contextlib.contextmanager
def capturing(logger_name: str) -> Iterator[None]:
    """Attach the capture handler to ``logger_name`` for the block (reference-counted)."""
    logger = logging.getLogger(logger_name)
    if _attached[logger_name] == 0:
        logger.addHandler(HANDLER)
    _attached[logger_name] += 1
    try:
        yield
    finally:
        _attached[logger_name] -= 1
        if _attached[logger_name] == 0:
            logger.removeHandler(HANDLER)


def route_to(output: OutputTail) -> None:
    """Send captured records made from now on in this task (and tasks it spawns) to ``output``.

    Call it at the start of the server's own task: the task's context is its own copy.
    """
    _output.set(output)
