"""The configuration schema: options with types, defaults and documentation, the core
keys (:data:`CORE_OPTIONS`), and where a value came from (:class:`Source`)."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import InvalidConfigValue
from .templating import check_template

__all__ = [
    "CORE_OPTIONS",
    "DEFAULT",
    "DRIVER_TABLES",
    "ENV_PREFIX",
    "Option",
    "Source",
    "reference_markdown",
]

ENV_PREFIX = "LIVEHARNESS_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Source:
    """Where a configuration value came from.

    :param kind: ``"default"``, ``"plugin"`` (a plugin's defaults), ``"pyproject"``,
        ``"file"``, ``"env"`` or ``"argument"``.
    :param where: the words an error message uses: a file and table, a variable, an argument.
    :param folder: the folder of the file the value came from, against which a relative
        path in it is resolved; ``None`` for the environment, arguments and defaults.
    """

    kind: str
    where: str
    folder: Path | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.where


DEFAULT = Source("default", "the default")


@dataclass(frozen=True)
class Option:
    """One configuration key: its type, default and documentation.

    :param type: ``str``, ``int``, ``float``, ``bool``, ``list`` (a list of strings) or
        ``dict`` (a table of strings, e.g. environment variables).
    :param nullable: ``None`` is accepted (``"none"`` or an empty string in the environment).
    :param choices: the accepted values, if only some are.
    :param minimum: the smallest accepted number.
    :param maximum: the largest accepted number.
    :param objects_from_arguments: a keyword argument may pass any object (``app=`` takes
        the app itself), while files and the environment must give the declared type.
    :param templated: its strings may name run-time values such as ``{backend_url}``
        (see :mod:`liveharness._config.templating`); unknown placeholders are rejected.
    :param any_values: a ``dict`` option whose values may be anything a TOML table holds
        (numbers, booleans, nested tables), e.g. WebDriver capabilities; in the
        environment, a JSON object.
    :param nonempty: a ``str`` option that an empty (or blank) string does not fit.
    """

    name: str
    type: type
    default: Any
    help: str
    nullable: bool = False
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    objects_from_arguments: bool = False
    templated: bool = False
    any_values: bool = False
    nonempty: bool = False

    @property
    def type_name(self) -> str:
        name = {list: "list of strings", dict: "table of strings", float: "number"}.get(
            self.type, self.type.__name__
        )
        if self.any_values:
            name = "table"
        if self.nonempty:
            name = f"non-empty {name}"
        if self.choices is not None:
            name = "one of " + ", ".join(repr(c) for c in self.choices)
        return f"{name} or none" if self.nullable else name

    def parse_text(self, text: str, *, key: str, source: Source) -> Any:
        """Turn an environment variable's text into a value of this option's type."""
        stripped = text.strip()
        if self.nullable and stripped.lower() in ("", "none", "null"):
            return None
        try:
            if self.type is bool:
                if stripped.lower() in _TRUE:
                    return True
                if stripped.lower() in _FALSE:
                    return False
                raise ValueError
            if self.type is int:
                return int(stripped)
            if self.type is float:
                return float(stripped)
            if self.type is list:
                return [item.strip() for item in stripped.split(",") if item.strip()]
            if self.type is dict and self.any_values:
                table = json.loads(stripped)
                if not isinstance(table, dict):
                    raise ValueError
                return table
            if self.type is dict:
                # NAME=VALUE pairs separated by commas; a value keeps any further '='.
                pairs = [item.split("=", 1) for item in stripped.split(",") if item.strip()]
                if any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
                    raise ValueError
                return {name.strip(): value.strip() for name, value in pairs}
        except ValueError:
            accepted = {
                bool: "one of 1/0, true/false, yes/no, on/off",
                dict: 'a JSON object, e.g. {"key": 1}'
                if self.any_values
                else "comma-separated NAME=VALUE pairs",
            }.get(self.type, self.type_name)
            raise InvalidConfigValue(
                f"{key} = {text!r} from {source} is not a valid {self.type_name}; expected {accepted}",
                key=key,
                value=text,
                source=str(source),
            ) from None
        return text

    def check(self, value: Any, *, key: str, source: Source) -> Any:
        """Return ``value`` if it fits this option (an int is a fine float), else raise."""
        if value is None and self.nullable:
            return None
        if self.objects_from_arguments and source.kind == "argument":
            return value

        def bad(reason: str) -> InvalidConfigValue:
            return InvalidConfigValue(
                f"{key} = {value!r} from {source} {reason}; expected {self.type_name}",
                key=key,
                value=value,
                source=str(source),
            )

        if self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad(f"is a {type(value).__name__}")
            value = float(value)
            if math.isnan(value):
                raise bad("is not a number")
            if math.isinf(value):  # 'inf', or a literal too large for a float (1e309)
                raise bad("is not a finite number")
        elif self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(f"is a {type(value).__name__}")
        elif self.type is list:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise bad(
                    f"is a {type(value).__name__}"
                    if not isinstance(value, (list, tuple))
                    else "has an item that is not a string"
                )
            value = list(value)
        elif self.type is dict:
            if not isinstance(value, dict):
                raise bad(f"is a {type(value).__name__}")
            wrong = [
                k
                for k, v in value.items()
                if not isinstance(k, str) or not (self.any_values or isinstance(v, str))
            ]
            if wrong:
                raise bad(f"has a value that is not a string ({wrong[0]!r})")
            value = dict(value)
        elif not isinstance(value, self.type) or (
            self.type is not bool and isinstance(value, bool)
        ):
            raise bad(f"is a {type(value).__name__}")
        if self.nonempty and not value.strip():
            raise bad("is empty")
        if self.choices is not None and value not in self.choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise bad(f"is not accepted{hint}")
        if self.minimum is not None and value < self.minimum:
            raise bad(f"is below the minimum {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise bad(f"is above the maximum {self.maximum:g}")
        if self.templated:
            check_template(value, key=key, source=str(source))
        return value


# The tables of driver options, by the kind of driver each configures:
# ``[tool.liveharness.servers.uvicorn]`` holds the options of server ``uvicorn``.
DRIVER_TABLES = {"servers": "server", "frontends": "frontend", "browsers": "browser"}

CORE_OPTIONS: tuple[Option, ...] = (
    Option(
        "app",
        str,
        None,
        "The ASGI app: an import string 'package.module:attribute', a factory "
        "'package.module:make_app()', or (as an argument) the app object. Required by "
        "Harness; `liveharness run` serves its bundled demo app when there is none.",
        nullable=True,
        objects_from_arguments=True,
    ),
    Option(
        "app_dir",
        str,
        None,
        "The folder the app is imported and served from (relative to the file that sets "
        "it): first on sys.path and the process's current directory while the harness "
        "runs. One per process at a time.",
        nullable=True,
    ),
    Option("server", str, "uvicorn", "The server driver that serves the app."),
    Option(
        "host",
        str,
        "127.0.0.1",
        "The address the backend listens on. Loopback unless you need another interface.",
        nonempty=True,
    ),
    Option("port", int, 0, "The backend port; 0 picks a free one.", minimum=0, maximum=65535),
    Option(
        "public_host",
        str,
        None,
        "The host name put in the URLs (harness.url, backend_url, frontend_url and the "
        "frontend's {backend_url} and {backend_host}) instead of the listening address: "
        "for a browser in a container that reaches this machine as host.docker.internal "
        "or a service name. host still says where to listen; none uses it in URLs too.",
        nullable=True,
    ),
    Option(
        "startup_timeout",
        float,
        30.0,
        "Seconds each component may take to become ready before the start fails.",
        minimum=0.001,
    ),
    Option(
        "shutdown_timeout",
        float,
        10.0,
        "Seconds each component may take to stop (in-flight requests included) before it is forced.",
        minimum=0.001,
    ),
    Option(
        "frontend", str, None, "The frontend driver; none serves the backend alone.", nullable=True
    ),
    Option(
        "keep_frontend",
        bool,
        True,
        "Keep the frontend (a dev server, or a static server and its build) running after "
        "stop() for the next harness in this process with the same frontend configuration, "
        "whose backend then comes up at the same URL (see Frontends: kept between harnesses).",
    ),
    Option(
        "browser",
        str,
        None,
        "The browser driver `harness.browser()` uses: 'playwright' or 'selenium'. With "
        "none, a call names one: `harness.browser(driver='selenium')`.",
        nullable=True,
    ),
    Option(
        "headed",
        bool,
        False,
        "Show browser windows; browsers run headless unless this is on "
        "(LIVEHARNESS_HEADED=1 for one run).",
    ),
    Option(
        "tls",
        bool,
        False,
        "Serve HTTPS. Without tls_certfile, a throwaway certificate authority and a "
        "certificate for localhost and 127.0.0.1 are made (needs the 'tls' extra); "
        "clients verify with harness.ca_path.",
    ),
    Option(
        "tls_certfile",
        str,
        None,
        "Your own certificate chain (PEM), with tls = true.",
        nullable=True,
    ),
    Option("tls_keyfile", str, None, "The private key of tls_certfile (PEM).", nullable=True),
    Option(
        "tls_ca",
        str,
        None,
        "The CA that signed tls_certfile, exposed as harness.ca_path.",
        nullable=True,
    ),
    Option(
        "workers",
        int,
        1,
        "Serve from this many worker processes sharing the socket; needs an import-string app.",
        minimum=1,
        maximum=256,
    ),
    Option(
        "isolation",
        str,
        "thread",
        "'thread' serves in the harness's event loop; 'process' serves from a worker process.",
        choices=("thread", "process"),
    ),
    Option(
        "strict_tasks",
        bool,
        False,
        "Tasks the app leaves running after its lifespan shutdown fail the stop "
        "instead of raising a LeftoverTasksWarning.",
    ),
    Option(
        "leftover_tasks",
        str,
        "warn",
        "What happens to tasks the app leaves running after its lifespan shutdown (past "
        "task_grace): 'warn' cancels them with a LeftoverTasksWarning, 'cancel' cancels them "
        "quietly, 'error' fails the stop. strict_tasks = true means 'error'.",
        choices=("warn", "cancel", "error"),
    ),
    Option(
        "owned_tasks",
        list,
        [],
        "Name patterns (fnmatch, e.g. 'socketio-*', '*Outbox.loop') of tasks a framework "
        "expects the loop's end to cancel: matched against the task's name and its "
        "coroutine's qualified name, they are cancelled at once and quietly at shutdown.",
    ),
    Option(
        "task_grace",
        float,
        0.1,
        "Seconds the app's leftover tasks get to finish on their own after its lifespan "
        "shutdown before they are cancelled; 0 cancels them at once.",
        minimum=0.0,
    ),
    Option(
        "disable_plugins",
        list,
        [],
        "Plugin names (entry-point names) not to load, e.g. ['server_uvicorn'].",
    ),
)


def reference_markdown(options: Iterable[Option], *, env_prefix: str = ENV_PREFIX) -> str:
    """The options as a Markdown table, for the configuration reference.

    :param env_prefix: the environment variable prefix; a driver's options use
        ``"LIVEHARNESS_SERVERS__UVICORN__"`` and the like.
    """
    rows = ["| key | type | default | environment variable | meaning |", "|---|---|---|---|---|"]
    for option in options:
        default = "none" if option.default is None else f"`{option.default!r}`"
        rows.append(
            f"| `{option.name}` | {option.type_name} | {default} | "
            f"`{env_prefix}{option.name.upper()}` | {option.help} |"
        )
    return "\n".join(rows) + "\n"
