"""Static checks: no unused imports or names, no syntax errors, no bpy in the core."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_no_errors():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "F,E9",
                             "revive_core", "blender_addon", "build_addon.py", "tests"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_never_imports_bpy():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "revive_core").rglob("*.py")
                 if "import bpy" in p.read_text() or "from bpy" in p.read_text()]
    assert offenders == []
