"""The ``static`` frontend driver: a production build, served from its output folder.

The build command runs (unless the build cache says its inputs have not changed since
the last successful build), then :class:`~liveharness.drivers.StaticFiles` serves
the output folder on loopback through the harness's configured server driver.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING

from liveharness import (
    FrontendBuildError,
    FrontendLaunch,
    Option,
    ServerDriver,
    StartupTimeout,
    hookimpl,
)
from liveharness.drivers import StaticFiles
from liveharness.drivers._buildcache import BuildStamp, build_lock, inputs_key
from liveharness.drivers._command import COMMAND_OPTIONS, CommandFrontend

if TYPE_CHECKING:
    from pathlib import Path

    from liveharness import DriverRegistry

__all__ = ["StaticFrontend"]

DEFAULT_INPUTS = [
    "index.html",
    "package.json",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "*.config.*",
    "tsconfig*.json",
    ".env*",
    "src/**/*",
    "public/**/*",
]


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_frontend(
        "static",
        StaticFrontend,
        description="a production build (cached), served from its output folder on loopback",
    )


class StaticFrontend(CommandFrontend):
    """A production build (cached), served from its output folder on loopback."""

    options = (
        Option(
            "build_command",
            list,
            [],
            "The build command, as an argument list (never run through a shell), e.g. "
            "['npx', 'vite', 'build']; empty: serve output_dir as it is. May use "
            "{backend_url}, {backend_host}, {backend_port}.",
            templated=True,
        ),
        *COMMAND_OPTIONS,
        Option(
            "output_dir",
            str,
            "dist",
            "The folder the build writes and that is served, relative to cwd.",
        ),
        Option(
            "spa_fallback",
            bool,
            True,
            "Answer a missing path without a file extension (a client-side route) with index.html and status 200.",
        ),
        Option(
            "fallback_file",
            str,
            "index.html",
            "The page spa_fallback serves, in output_dir (Reflex: '__spa-fallback.html').",
        ),
        Option(
            "base_path",
            str,
            "",
            "The path the site is served under, e.g. '/app' for a build with that base; "
            "harness.url then ends with it.",
        ),
        Option(
            "precompressed",
            bool,
            False,
            "Serve 'name.br' or 'name.gz' next to a file, with Content-Encoding, to a "
            "browser that accepts it, as a production server would.",
        ),
        Option(
            "runtime_files",
            dict,
            {},
            "Files served from memory over the build's, path in output_dir -> template, "
            "e.g. {'env.json' = '{{\"API\": \"{backend_url}\"}}'}: a build that reads its "
            "backend's address at run time is then the same for every harness, so the "
            "build cache hits.",
            templated=True,
        ),
        Option(
            "not_found_page",
            str,
            None,
            "A page in output_dir served with status 404 for missing files, e.g. '404.html'.",
            nullable=True,
        ),
        Option("host", str, "127.0.0.1", "The address the built site is served on."),
        Option(
            "port",
            int,
            0,
            "The port it is served on; 0 picks a free one.",
            minimum=0,
            maximum=65535,
        ),
        Option(
            "build_inputs",
            list,
            DEFAULT_INPUTS,
            "Globs (relative to cwd; ** spans folders) of the files the build depends on. "
            "The build is skipped when these files, the command and env are unchanged "
            "since the last successful build and the output folder is as it left it.",
        ),
        Option("build_cache", bool, True, "Skip a build whose inputs have not changed."),
        Option("rebuild", bool, False, "Build even if the build cache says nothing changed."),
        Option(
            "cache_dir",
            str,
            "node_modules/.cache/liveharness",
            "Where the build cache's record and lock are kept, relative to cwd.",
        ),
        Option(
            "build_timeout",
            float,
            300.0,
            "Seconds the build may take, on top of startup_timeout.",
            minimum=0.001,
        ),
    )

    def __init__(self, launch: FrontendLaunch) -> None:
        super().__init__(launch)
        self.output_dir = self.cwd / launch.options["output_dir"]
        self._server: ServerDriver | None = None
        #: Whether the last start skipped the build because the cache was fresh.
        self.build_skipped = False

    @property
    def startup_timeout(self) -> float:
        extra = (
            self.launch.options["build_timeout"] if self.launch.options["build_command"] else 0.0
        )
        return self.launch.startup_timeout + extra

    async def start(self) -> str:
        opts = self.launch.options
        self.check_cwd()
        app = StaticFiles(
            self.output_dir,
            spa_fallback=opts["spa_fallback"],
            not_found_page=opts["not_found_page"],
            fallback=opts["fallback_file"],
            base_path=opts["base_path"],
            precompressed=opts["precompressed"],
            overlays={name: text.encode() for name, text in self.rendered("runtime_files").items()},
        )
        # Served before the build: a busy port fails at once, not after a build of
        # minutes. Nobody has the URL until start() returns it, after the build.
        self._server = await self.launch.serve(app, host=opts["host"], port=opts["port"])
        if opts["build_command"]:
            await self._build()
        self._check_output()
        return self._server.launch.url + app.base_path

    def _stamp(self) -> BuildStamp:
        # One record per output folder, so two configurations building different
        # folders in one project do not invalidate each other.
        name = hashlib.sha256(str(self.output_dir.resolve()).encode()).hexdigest()[:16]
        return BuildStamp(self.cwd / self.launch.options["cache_dir"] / f"build-{name}.json")

    async def _build(self) -> None:
        opts, describe = self.launch.options, self.launch.describe
        argv = self.rendered("build_command")
        extra_env = self.rendered("env")
        key = inputs_key(
            self.cwd, opts["build_inputs"], command=argv, env=extra_env, exclude=[self.output_dir]
        )
        stamp = self._stamp()
        try:
            async with build_lock(stamp.path.with_suffix(".lock"), opts["build_timeout"]):
                if (
                    opts["build_cache"]
                    and not opts["rebuild"]
                    and stamp.is_fresh(key, self.output_dir)
                ):
                    self.build_skipped = True
                    self.output.append(
                        f"liveharness: build skipped, inputs unchanged ({stamp.path})"
                    )
                    return
                stamp.forget()
                await self._run_build(argv)
                stamp.record(key, self.output_dir)
        except TimeoutError as exc:  # the lock, held by another process's build
            raise StartupTimeout(
                f"the build cache lock {stamp.path.with_suffix('.lock')} stayed taken for "
                f"build_timeout = {opts['build_timeout']:g} s ({describe('build_timeout')})",
                phase="FRONTEND_UP",
                component="frontend",
            ) from exc

    async def _run_build(self, argv: list[str]) -> None:
        opts, describe = self.launch.options, self.launch.describe
        child = self.spawn(
            argv, option="build_command", what="the build", error_class=FrontendBuildError
        )
        try:
            code = await asyncio.wait_for(child.wait(), opts["build_timeout"])
        except asyncio.TimeoutError:
            raise StartupTimeout(
                f"the build did not finish within build_timeout = {opts['build_timeout']:g} s "
                f"({describe('build_timeout')})",
                phase="FRONTEND_UP",
                component="frontend",
                output_tail=self.output.tail(),
            ) from None
        # A build can leave a helper behind (a compiler service); end the whole tree.
        await self.processes.end(child)
        if code != 0:
            raise FrontendBuildError(
                f"the build {child.describe_exit()} (command {argv!r}, {describe('build_command')})",
                phase="FRONTEND_UP",
                component="frontend",
                output_tail=self.output.tail(),
            )
        if not self.output_dir.is_dir():
            raise FrontendBuildError(
                f"the build succeeded but wrote no output folder {str(self.output_dir)!r} "
                f"({describe('output_dir')}); is the build's own output folder set the same?",
                phase="FRONTEND_UP",
                component="frontend",
                output_tail=self.output.tail(),
            )

    def _check_output(self) -> None:
        opts, describe = self.launch.options, self.launch.describe
        folder = self.output_dir
        problem = None
        if not folder.is_dir():
            problem = (
                f"the output folder {str(folder)!r} does not exist ({describe('output_dir')}); "
                "set build_command to build it"
            )
        elif opts["spa_fallback"] and not _served(folder, opts["fallback_file"]):
            problem = (
                f"the output folder {str(folder)!r} has no {opts['fallback_file']}, which "
                f"spa_fallback serves for client-side routes ({describe('fallback_file')})"
            )
        elif opts["not_found_page"] and not _served(folder, opts["not_found_page"]):
            problem = (
                f"the not-found page {opts['not_found_page']!r} is not in {str(folder)!r} "
                f"({describe('not_found_page')}); expected a file in the output folder, "
                "e.g. '404.html'"
            )
        if problem is not None:
            raise FrontendBuildError(
                problem, phase="FRONTEND_UP", component="frontend", output_tail=self.output.tail()
            )

    async def stop(self) -> None:
        server, self._server = self._server, None
        try:
            if server is not None:
                await server.stop()
        finally:
            await super().stop()


def _served(folder: Path, name: str) -> bool:
    """Whether ``name`` is a file the static server would serve from ``folder``: one
    outside it ('../x', a symlink out) is never served, so it is not there either."""
    found, _ = StaticFiles(folder).resolve("/" + name)
    return found is not None
