"""`revive bench recon` end to end on a tiny run: two rendered ICT heads, the built-in model."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ICT_ZIP = Path(__file__).resolve().parents[2] / "shared" / "ict-facekit" / "ICT-FaceKit.zip"


@pytest.mark.slow
@pytest.mark.skipif(not ICT_ZIP.is_file(), reason="needs ../shared/ict-facekit")
def test_bench_recon_prints_a_table_and_writes_json(tmp_path):
    out = tmp_path / "recon.json"
    result = subprocess.run(
        [sys.executable, "-m", "revive_core.cli.main", "bench", "recon", "--truth", str(ICT_ZIP),
         "--model", "builtin", "--views", "1", "--count", "2", "--seed", "3", "--json", str(out),
         "--keep", str(tmp_path / "photos")],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "median mm" in result.stdout and "builtin" in result.stdout
    report = json.loads(out.read_text())
    fitted, mean_shape = report["rows"]
    assert {"model", "views", "median_mm", "mean_mm", "p90_mm", "landmark_px",
            "sec_per_photo"} <= set(fitted)
    assert (fitted["model"], fitted["views"], fitted["heads"]) == ("builtin", 1, 2)
    assert 0.2 < fitted["median_mm"] <= fitted["mean_mm"] < fitted["p90_mm"] < 15.0
    assert 0.0 < fitted["landmark_px"] < 8.0 and fitted["sec_per_photo"] > 0.0
    assert mean_shape["model"] == "builtin:mean" and math.isfinite(mean_shape["median_mm"])
    assert len(list((tmp_path / "photos").rglob("view0.png"))) == 2
    real = report["real_photos"]
    try:
        import dlib  # noqa: F401 (evaluation-only extra)
    except ImportError:
        assert real["nme"] is None and "not installed" in real["note"]
    else:
        assert real["photos"] == ["astronaut.png"] and 0.0 < real["nme"]["builtin"] < 0.15


def test_bench_recon_refuses_bad_arguments_kindly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "revive_core.cli.main", "bench", "recon", "--truth",
         str(tmp_path / "missing.zip"), "--views", "one"],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "--views" in result.stderr
    assert "Traceback" not in result.stderr

