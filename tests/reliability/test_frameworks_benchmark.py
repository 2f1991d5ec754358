"""The frameworks benchmark's NiceGUI section runs end to end, two tests per way.

Its timings are not checked here (the machine is shared); the full run is
``python benchmarks/frameworks.py --venv ...`` (its docstring says how to build the
environment). The section needs NiceGUI and the example package, which this suite's
environment has not: the test makes an environment over it (this one's packages, the
editable liveharness included, plus NiceGUI and ``examples/liveharness-nicegui``),
installed from the package index like the rest of the suite's dependencies.

The Reflex section is not run here: a Reflex environment and one ``AppHarness`` start
(``reflex init``, ``npm install`` of ~240 packages) cost minutes, not seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "benchmarks" / "frameworks.py"
# As the example package pins it (examples/liveharness-nicegui/pyproject.toml).
NICEGUI = "nicegui>=3.18,<3.19"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def nicegui_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with NiceGUI and liveharness-nicegui that also sees this one's packages."""
    path = tmp_path_factory.mktemp("nicegui-venv")
    venv.create(path, with_pip=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
    pip += ["--disable-pip-version-check"]
    subprocess.run([*pip, NICEGUI], check=True, timeout=600)
    # Without its dependencies: liveharness is this environment's (the editable one).
    example = ROOT / "examples" / "liveharness-nicegui"
    subprocess.run([*pip, "--no-deps", "-e", str(example)], check=True, timeout=600)
    # Only now (pip's builds would find this environment's older setuptools): this
    # one's packages behind the venv's own. addsitedir, not a path line, so that this
    # environment's .pth files (the editable liveharness's finder) are read too.
    purelib = sysconfig.get_paths(vars={"base": str(path), "platbase": str(path)})["purelib"]
    here = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "_suite_env.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    return path


def test_the_nicegui_section_runs_both_harnesses_and_reports_its_target(
    nicegui_venv: Path,
) -> None:
    options = ["--only", "nicegui", "-n", "2", "--rounds", "1", "--json"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--venv", str(nicegui_venv), *options],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    section = json.loads(result.stdout)["sections"]["nicegui"]
    assert set(section["ways"]) == {"own", "lh-selenium", "lh-playwright"}
    for entry in section["ways"].values():
        # Each way's two tests ran and passed: a button and an input bound to a label.
        assert (entry["tests"], entry["failed"], entry["exit_code"]) == (2, 0, 0), entry
        assert 0 < entry["per_test_ms"] <= entry["process_per_test_ms"], entry
    ratio = section["ratios"]["lh-selenium/own"]
    assert ratio["target"] == 0.8
    assert ratio["met"] == (ratio["ratio"] <= 0.8)


def test_a_venv_without_the_packages_is_named_with_what_it_lacks() -> None:
    # This suite's own environment: liveharness, no NiceGUI.
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--venv", sys.prefix, "--only", "nicegui"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert f"--venv {sys.prefix!r} lacks" in result.stderr, result.stderr
    assert "liveharness_nicegui" in result.stderr, result.stderr
