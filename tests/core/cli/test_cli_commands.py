"""``liveharness exec``, ``plugins``, ``config`` and the conventions every sub-command
follows, run for real in subprocesses (``doctor``: test_cli_doctor.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import liveharness
from conftest import port_refuses

pytestmark = pytest.mark.usefixtures("leaks")

DEADLINE = 60.0
CONSOLE_SCRIPT = [str(Path(sys.executable).parent / "liveharness")]
SUB_COMMANDS = ["run", "exec", "demo", "plugins", "config", "doctor", "browsers"]


def liveharness_cli(
    *arguments: str, cwd: Path, **environment: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    env.update(environment)
    return subprocess.run(
        [*CONSOLE_SCRIPT, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def ready_url(stdout: str) -> str:
    match = re.search(r"ready at (http://\S+) in ", stdout)
    assert match, stdout
    return match[1]


def child(source: str) -> list[str]:
    """A Python command for ``exec``: ``source`` run by this interpreter."""
    return [sys.executable, "-c", source]


# --- exec -------------------------------------------------------------------------------


def test_exec_runs_the_command_against_the_stack_and_exits_with_its_code(tmp_path: Path) -> None:
    source = (
        "import json, os, sys, urllib.request\n"
        "url = os.environ['LIVEHARNESS_URL']\n"
        "assert url == os.environ['LIVEHARNESS_BACKEND_URL']\n"
        "assert 'LIVEHARNESS_FRONTEND_URL' not in os.environ\n"
        "print('child got:', json.load(urllib.request.urlopen(url + '/api/hello'))['message'])\n"
        "sys.exit(3)\n"
    )
    result = liveharness_cli(
        "exec", "--app", "liveharness.demo:app", "--", *child(source), cwd=tmp_path
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "child got: Hello from the liveharness demo backend" in result.stdout
    assert "the command exited with code 3" in result.stdout
    assert re.search(r"stopped in [\d.]+ ms", result.stdout)
    assert port_refuses(ready_url(result.stdout))


def test_exec_exits_0_when_the_command_succeeds(tmp_path: Path) -> None:
    result = liveharness_cli(
        "exec", "--app", "liveharness.demo:app", "--", *child("pass"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_exec_with_no_command_is_a_usage_error(tmp_path: Path) -> None:
    for argv in (["exec"], ["exec", "--"], ["exec", "--port", "0", "--"]):
        result = liveharness_cli(*argv, cwd=tmp_path)
        assert result.returncode == 2, argv
        assert "exec needs a command to run" in result.stderr
        assert result.stderr.startswith("usage: liveharness exec")
        assert "ready at" not in result.stdout


def test_exec_of_a_command_that_does_not_exist_exits_127_with_the_stack_stopped(
    tmp_path: Path,
) -> None:
    result = liveharness_cli(
        "exec", "--app", "liveharness.demo:app", "--", "no-such-command-here", "x", cwd=tmp_path
    )
    assert result.returncode == 127, result.stdout + result.stderr
    assert "command not found: 'no-such-command-here'" in result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"stopped in [\d.]+ ms", result.stdout)
    assert port_refuses(ready_url(result.stdout))


def test_exec_of_a_file_that_is_not_executable_exits_126(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("echo never\n")
    result = liveharness_cli(
        "exec", "--app", "liveharness.demo:app", "--", str(script), cwd=tmp_path
    )
    assert result.returncode == 126, result.stdout + result.stderr
    assert "cannot execute" in result.stderr


def test_exec_fails_fast_and_runs_nothing_when_the_stack_does_not_start(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = liveharness_cli(
        "exec",
        "--app",
        "nosuchmodule:app",
        "--",
        *child(f"open({str(marker)!r}, 'w')"),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed to start; the command was not run" in result.stderr
    assert "nosuchmodule" in result.stderr
    assert not marker.exists()


def test_exec_with_no_app_configured_is_a_usage_error(tmp_path: Path) -> None:
    result = liveharness_cli("exec", "--", *child("pass"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no app configured" in result.stderr


def test_exec_passes_ctrl_c_to_the_command_and_stops_the_stack(tmp_path: Path) -> None:
    source = (
        "import signal, sys\n"
        "signal.signal(signal.SIGINT, lambda *_: sys.exit(0))\n"
        "print('child waiting', flush=True)\n"
        "signal.pause()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    process = subprocess.Popen(
        [*CONSOLE_SCRIPT, "exec", "--app", "liveharness.demo:app", "--", *child(source)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # bounded: the process ends, closing the pipe
            lines.append(line)
            if line.strip() == "child waiting":
                break
        # Only liveharness gets the signal, as from `kill -INT` or a CI runner.
        process.send_signal(2)
        out, err = process.communicate(timeout=DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    stdout = "".join(lines) + out
    assert process.returncode == 130, stdout + err
    assert "interrupted; the command was stopped" in stdout
    assert re.search(r"stopped in [\d.]+ ms", stdout)
    assert port_refuses(ready_url(stdout))


# --- plugins ----------------------------------------------------------------------------


def test_plugins_lists_every_driver_with_its_plugin_and_distribution(tmp_path: Path) -> None:
    result = liveharness_cli("plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    drivers = {(d["kind"], d["name"]): d for d in document["drivers"]}
    uvicorn = drivers[("server", "uvicorn")]
    assert uvicorn["plugin"] == "server_uvicorn"
    assert uvicorn["distribution"] == "liveharness"
    assert uvicorn["version"] == liveharness.__version__
    assert uvicorn["available"] is True
    assert uvicorn["selected"] is True
    for key in (("frontend", "dev"), ("frontend", "static"), ("browser", "playwright")):
        assert key in drivers
    plugins = {p["name"]: p for p in document["plugins"]}
    assert plugins["server_uvicorn"]["module"] == "liveharness.plugins.server_uvicorn"

    text = liveharness_cli("plugins", cwd=tmp_path)
    assert text.returncode == 0
    assert re.search(
        r"\*uvicorn +plugin server_uvicorn \(liveharness [\d.]+\) +installed", text.stdout
    )


def test_plugins_shows_what_disable_plugins_blocks(tmp_path: Path) -> None:
    (tmp_path / "liveharness.toml").write_text('disable_plugins = ["server_hypercorn"]\n')
    result = liveharness_cli("plugins", "--json", cwd=tmp_path)
    document = json.loads(result.stdout)
    assert ("server", "hypercorn") not in {(d["kind"], d["name"]) for d in document["drivers"]}
    assert {p["name"]: p["blocked"] for p in document["plugins"]}["server_hypercorn"] is True
    assert (
        "blocked by disable_plugins: server_hypercorn"
        in liveharness_cli("plugins", cwd=tmp_path).stdout
    )


# --- config -----------------------------------------------------------------------------


def test_config_prints_every_value_with_its_source(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.liveharness]\napp = "shop:app"\nport = 8123\n\n'
        '[tool.liveharness.servers.uvicorn]\nlog_level = "info"\n'
    )
    result = liveharness_cli("config", "--json", cwd=tmp_path, LIVEHARNESS_STARTUP_TIMEOUT="7")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["files"] == [str(pyproject)]
    values = {v["key"]: v for v in document["values"]}
    assert values["port"]["value"] == 8123
    assert values["port"]["source"] == f"{pyproject} [tool.liveharness]"
    assert values["startup_timeout"] == {
        "key": "startup_timeout",
        "value": 7.0,
        "source": "environment variable LIVEHARNESS_STARTUP_TIMEOUT",
        "kind": "env",
    }
    assert values["host"]["kind"] == "default"
    assert values["servers.uvicorn.log_level"]["source"] == (
        f"{pyproject} [tool.liveharness.servers.uvicorn]"
    )
    # Every option of the selected server, defaults included.
    assert values["servers.uvicorn.access_log"] == {
        "key": "servers.uvicorn.access_log",
        "value": False,
        "source": "the default",
        "kind": "default",
    }

    text = liveharness_cli("config", cwd=tmp_path).stdout
    assert re.search(
        rf"^port +?= 8123  # {re.escape(str(pyproject))} \[tool.liveharness\]$", text, re.M
    )


@pytest.mark.parametrize("command", ["run", "config", "doctor", "plugins", "exec"])
def test_a_configuration_file_with_a_syntax_error_names_file_line_and_column(
    tmp_path: Path, command: str
) -> None:
    config = tmp_path / "liveharness.toml"
    config.write_text('app = "liveharness.demo:app"\nport = = 3\n')
    argv = [command, "--", *child("pass")] if command == "exec" else [command]
    result = liveharness_cli(*argv, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert f"{config} is not valid TOML" in output
    assert "line 2, column 8" in output
    assert "Traceback" not in output
    assert result.returncode == (1 if command == "doctor" else 2)


def test_an_invalid_value_is_a_usage_error_naming_its_source(tmp_path: Path) -> None:
    result = liveharness_cli("config", cwd=tmp_path, LIVEHARNESS_PORT="eighty")
    assert result.returncode == 2
    assert "port = 'eighty' from environment variable LIVEHARNESS_PORT" in result.stderr


# --- conventions ------------------------------------------------------------------------


@pytest.mark.parametrize("command", SUB_COMMANDS)
def test_every_sub_command_has_help(tmp_path: Path, command: str) -> None:
    result = liveharness_cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: liveharness {command}")


def test_version(tmp_path: Path) -> None:
    result = liveharness_cli("--version", cwd=tmp_path)
    assert result.stdout == f"liveharness {liveharness.__version__}\n"


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["rnu"], "did you mean 'run'?"),
        (["doctr"], "did you mean 'doctor'?"),
        (["run", "--prot", "3"], "did you mean '--port'?"),
        (["plugins", "--jsn"], "did you mean '--json'?"),
    ],
)
def test_a_usage_error_exits_2_with_a_suggestion(
    tmp_path: Path, argv: list[str], suggestion: str
) -> None:
    result = liveharness_cli(*argv, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: liveharness")
    assert result.stderr.rstrip().endswith(suggestion)
    assert result.stdout == ""


def test_no_color_is_honoured(tmp_path: Path) -> None:
    forced = liveharness_cli("doctor", cwd=tmp_path, FORCE_COLOR="1")
    assert "\x1b[" in forced.stdout
    both = liveharness_cli("doctor", cwd=tmp_path, FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b[" not in both.stdout + both.stderr
    assert both.stdout == re.sub(r"\x1b\[[\d;]*m", "", forced.stdout)
    # A pipe is not a terminal: no colour by default.
    plain = liveharness_cli("plugins", cwd=tmp_path)
    assert "\x1b[" not in plain.stdout


def test_exec_says_whether_the_static_build_ran_or_was_skipped(tmp_path: Path) -> None:
    build = (
        "import pathlib; site = pathlib.Path('dist'); site.mkdir(exist_ok=True); "
        "(site / 'index.html').write_text('built')"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "liveharness.demo:app"\nfrontend = "static"\n\n'
        f"[tool.liveharness.frontends.static]\nbuild_command = [{sys.executable!r}, '-c', {build!r}]\n"
    )
    first = liveharness_cli("exec", "--", *child("pass"), cwd=tmp_path)
    assert re.search(r"frontend ready at \S+ \(static, [\d.]+ ms; built\)", first.stdout), first
    second = liveharness_cli("exec", "--", *child("pass"), cwd=tmp_path)
    assert "; build skipped, inputs unchanged)" in second.stdout, second


def test_frontend_none_serves_the_backend_alone(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "liveharness.demo:app"\nfrontend = "dev"\n\n'
        '[tool.liveharness.frontends.dev]\ncommand = ["no-such-dev-server-xyz"]\n'
    )
    source = "import os; print('FRONTEND', os.environ.get('LIVEHARNESS_FRONTEND_URL'))"
    result = liveharness_cli("exec", "--frontend", "none", "--", *child(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "FRONTEND None" in result.stdout


def test_a_bad_option_value_is_named_as_typed(tmp_path: Path) -> None:
    result = liveharness_cli("exec", "--port", "99999", "--", *child("pass"), cwd=tmp_path)
    assert result.returncode == 2
    assert "port = 99999 from --port is above the maximum 65535" in result.stderr
    assert "argument port=" not in result.stderr


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """``liveharness config | head -1``: the reader is gone before the output is written."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    process = subprocess.Popen(
        [*CONSOLE_SCRIPT, "config"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    process.stdout.close()  # long before the interpreter has started
    _, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 128 + 13  # as a command ended by SIGPIPE
    assert b"Traceback" not in stderr
    assert b"BrokenPipeError" not in stderr
