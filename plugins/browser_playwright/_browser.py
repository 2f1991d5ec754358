"""A browser shared by every harness of a process, keyed by its launch configuration,
and the pages prepared in it for the next ``browser()`` call."""

from __future__ import annotations

import collections
import json
from typing import Any

__all__ = ["SharedBrowser", "context_key"]


def context_key(options: dict[str, Any]) -> str:
    return json.dumps(options, sort_keys=True, default=repr)


class SharedBrowser:
    """One launched (or connected) browser, and the pages prepared in it."""

    def __init__(self, browser: Any, key: str, description: str) -> None:
        self.browser = browser
        self.key = key
        self.description = description
        self.closing = False
        self.lost = False
        self.prepared: collections.OrderedDict[str, Any] = collections.OrderedDict()
        #: The URL reserved for the next harness on a free port, when a page of one was
        #: last handed out here; and whether the one before reached such a harness.
        self.next_url: str | None = None
        self.next_url_reached = True
        browser.on("disconnected", self._disconnected)

    def _disconnected(self, *_: Any) -> None:
        if not self.closing:
            self.lost = True

    @property
    def alive(self) -> bool:
        return not self.lost and bool(self.browser.is_connected())

    def cancel_prepared(self) -> None:
        """Give up the pages being prepared: the browser died, and a request it had not
        answered when killed (``new_context``) may never be answered."""
        for task in self.prepared.values():
            task.cancel()
        self.prepared.clear()
