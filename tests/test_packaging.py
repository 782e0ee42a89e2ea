"""The wheel `pip install .` makes: the assets, the add-on and its formats reader as files.

A non-editable install has no checkout beside it: `revive demo` needs every asset file from
the wheel, and rendering runs the add-on's batch entry from the installed ``blender_addon``.
The wheel is built from a copy of the sources (so the checkout gets no build/ folder), without
build isolation (no network).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYMLINK = 0o120000


def _sources(folder: Path) -> set[str]:
    """The files under ``folder`` a wheel must hold, as paths relative to the repository."""
    return {p.relative_to(ROOT).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("revive_core", "blender_addon"):
        shutil.copytree(ROOT / package, source / package, symlinks=True, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                             "--no-build-isolation", "--no-index", "-q", str(source),
                             "-w", str(out)], capture_output=True, text=True, cwd=source)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(next(out.glob("revive-*.whl"))) as zf:
        yield zf


@pytest.mark.slow
def test_wheel_holds_every_asset_file_at_any_depth(wheel):
    names = set(wheel.namelist())
    assets = _sources(ROOT / "revive_core" / "assets")
    assert "revive_core/assets/sample/astronaut.png" in assets
    assert sorted(assets - names) == []
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.slow
def test_wheel_holds_every_module_of_the_core_and_the_addon(wheel):
    names = set(wheel.namelist())
    modules = {n for n in _sources(ROOT / "revive_core") | _sources(ROOT / "blender_addon")
               if n.endswith(".py") and "/revive_formats/" not in n}
    assert "blender_addon/render/batch.py" in modules
    assert sorted(modules - names) == []
    assert "blender_addon/blender_manifest.toml" in names


@pytest.mark.slow
def test_wheel_holds_the_addon_formats_reader_as_real_files(wheel):
    """blender_addon/revive_formats is a link in the checkout; installed, it must be files."""
    formats = sorted(p.name for p in (ROOT / "revive_core" / "formats").glob("*.py"))
    shipped = sorted(n.rsplit("/", 1)[1] for n in wheel.namelist()
                     if n.startswith("blender_addon/revive_formats/"))
    assert shipped == formats
    for name in formats:
        info = wheel.getinfo(f"blender_addon/revive_formats/{name}")
        assert (info.external_attr >> 16) & 0o170000 != SYMLINK
        assert wheel.read(info) == (ROOT / "revive_core" / "formats" / name).read_bytes()
