"""Calling a hook, and naming the plugin whose implementation raised.

pluggy lets an implementation's exception out of the hook call as it is, without
saying whose it was; a user reading "OSError: disk full" needs to know which plugin
to blame or block. :func:`call_hook` finds the plugin from the traceback and hands
a :class:`HookFailure` to the caller, which decides what the failure is *there*: a
startup error of the phase, a shutdown failure collected with the others, a log
line when there is nobody to raise to.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from .._runtime.loopthread import run_in_thread
from .._runtime.output import traceback_tail

__all__ = ["HookFailure", "acall_hook", "call_hook", "plugin_of_traceback"]


@dataclass(frozen=True)
class HookFailure:
    """One hook implementation raised: which hook, whose, and what."""

    #: The hook's name, ``"liveharness_state_changed"``.
    hook: str
    #: The name the plugin is registered under (``"<unknown plugin>"`` if not found).
    plugin: str
    #: What the implementation raised.
    cause: Exception

    def message(self, call: str = "") -> str:
        """``plugin 'x' raised in <hook><call>: <type>: <message>``; ``call`` shows the
        arguments that matter, e.g. ``"(READY -> STOPPING)"``."""
        cause = self.cause
        return (
            f"plugin {self.plugin!r} raised in {self.hook}{call}: {type(cause).__name__}: {cause}"
        )

    @property
    def component(self) -> str:
        """The failed component, for a lifecycle error: ``"plugin <name>"``."""
        return f"plugin {self.plugin}"

    @property
    def output_tail(self) -> list[str]:
        """The implementation's traceback: the file and line that raised."""
        return traceback_tail(self.cause)

    def log(self, logger: logging.Logger) -> None:
        """Log the failure with its traceback, for a hook with nobody to raise to."""
        logger.error("plugin %r raised in %s", self.plugin, self.hook, exc_info=self.cause)


def call_hook(
    manager: pluggy.PluginManager,
    hook: str,
    failed: Callable[[HookFailure], BaseException | None],
    /,
    **kwargs: Any,
) -> Any:
    """Call ``hook`` with ``kwargs`` and return what pluggy returns.

    :param failed: called when an implementation raises (an ``Exception``; an
        interrupt passes through), with the failure; it returns the error to raise
        from the implementation's exception, or ``None`` when it dealt with the
        failure itself, and then the call returns ``None``.
    """
    try:
        return getattr(manager.hook, hook)(**kwargs)
    except Exception as exc:
        error = failed(HookFailure(hook, plugin_of_traceback(manager, hook, exc), exc))
        if error is None:
            return None
        raise error from exc


async def acall_hook(
    manager: pluggy.PluginManager,
    hook: str,
    failed: Callable[[HookFailure], BaseException | None],
    /,
    **kwargs: Any,
) -> None:
    """Call every implementation of a notification ``hook`` that may be a coroutine function.

    A coroutine function is awaited in the running loop (the backend's, so what it does
    on the app's objects happens where they live); a plain function runs in a worker
    thread, so slow synchronous work (writing files, compiling) does not stop the loop
    from serving meanwhile. Implementations run one after another, in pluggy's order,
    and the first that raises ends the call through ``failed`` (as :func:`call_hook`).
    """
    for impl in reversed(getattr(manager.hook, hook).get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue  # a wrapper of a notification has nothing to wrap here
        arguments = {name: kwargs[name] for name in impl.argnames}
        try:
            if inspect.iscoroutinefunction(impl.function):
                await impl.function(**arguments)
            else:
                call = functools.partial(impl.function, **arguments)
                result = await run_in_thread(call, name=f"liveharness-{hook}")
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            error = failed(HookFailure(hook, impl.plugin_name, exc))
            if error is not None:
                raise error from exc


def plugin_of_traceback(manager: pluggy.PluginManager, hook_name: str, exc: BaseException) -> str:
    """The name of the plugin whose implementation of ``hook_name`` raised ``exc``."""
    owners: dict[Any, str] = {}
    for impl in getattr(manager.hook, hook_name).get_hookimpls():
        code = getattr(impl.function, "__code__", None)
        if code is not None:
            owners[code] = impl.plugin_name
    traceback = exc.__traceback__
    found = "<unknown plugin>"
    while traceback is not None:
        owner = owners.get(traceback.tb_frame.f_code)
        if owner is not None:
            found = owner
        traceback = traceback.tb_next
    return found
