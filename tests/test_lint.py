"""Static checks: no unused imports or names, no syntax errors (ruff).

What may import what (no bpy in the core, the layers) is tests/test_architecture.py's job.
"""
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
