"""Package-level checks: version, lazy imports, layering, resources, CLI entry."""
import subprocess
import sys

import numpy as np
import pytest

import brainviz
from brainviz import _config, _resources


def test_version_cli_matches_package():
    out = subprocess.run(
        [sys.executable, "-m", "brainviz", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"brainviz {brainviz.__version__}"


HEAVY = ("PyQt5", "vtkmodules", "mayavi", "tvtk", "traitsui", "pyface", "traits")


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("brainviz", HEAVY + ("sklearn", "nilearn")),
        ("brainviz.exceptions", HEAVY + ("sklearn",)),
        ("brainviz.data", HEAVY),
        ("brainviz.backend", HEAVY),
        ("brainviz.cli", HEAVY + ("sklearn",)),
    ],
)
def test_lower_layers_import_no_gui_or_vtk(module, forbidden):
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_import_contracts_hold():
    lint = pytest.importorskip("importlinter")
    del lint
    out = subprocess.run(["lint-imports"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_resources_are_reachable():
    names = _resources.list_resources()
    assert {"brainviz.png", "cold_hot.csv", "regions.csv"} <= set(names)
    cmap = _resources.read_colormap("cold_hot")
    assert cmap.shape == (256, 3)
    # nilearn's cold_hot: white ends, blue below zero, red above
    assert np.all(cmap[[0, -1]] == 1.0)
    assert cmap[64, 2] > 0.9 and cmap[64, 0] < 0.1
    assert cmap[192, 0] > 0.9 and cmap[192, 2] < 0.1
    assert _resources.read_colormap("cyan_black_yellow").shape == (256, 3)
    with pytest.raises(FileNotFoundError, match="not_there.csv.*shipped"):
        _resources.resource_path("not_there.csv")


def test_config_argument_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BRAINVIZ_CACHE_DIR", str(tmp_path / "env"))
    assert _config.get_cache_dir() == tmp_path / "env"
    assert _config.get_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("BRAINVIZ_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _config.get_cache_dir() == tmp_path / "xdg" / "brainviz"
    monkeypatch.setenv("BRAINVIZ_N_JOBS", "3")
    assert _config.get_n_jobs() == 3
    assert _config.get_n_jobs(2) == 2
    monkeypatch.setenv("BRAINVIZ_N_JOBS", "lots")
    with pytest.raises(ValueError, match="n_jobs must be an integer; got 'lots'"):
        _config.get_n_jobs()


def test_licence_changelog_and_citation_agree_with_the_metadata():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text()
    assert re.search(r'^license = "BSD-3-Clause"$', pyproject, re.M)
    assert re.search(r'^license-files = \["LICENSE"\]$', pyproject, re.M)
    assert (root / "LICENSE").read_text().startswith("BSD 3-Clause License")
    cff = (root / "CITATION.cff").read_text()
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    assert re.search(r"^license: BSD-3-Clause$", cff, re.M)
    assert re.search(rf'^version: "{re.escape(brainviz.__version__)}"$', cff, re.M)
    changelog = (root / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "keepachangelog.com" in changelog
