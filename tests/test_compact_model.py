"""Tests of the shipped default face model (derived from ICT-FaceKit, see NOTICE)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from revive_core.avatar.model.compact import (SHIPPED_IDENTITIES, compact_model,
                                              compact_model_dir)
from revive_core.avatar.model.registry import find_model, installed_models

ROOT = Path(__file__).resolve().parents[1]
ICT_ZIP = ROOT.parent / "shared" / "ict-facekit" / "ICT-FaceKit.zip"


def test_default_model_is_the_shipped_scan_model_under_20_mb_with_its_notice():
    folder = compact_model_dir()
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 20e6, f"{size / 1e6:.1f} MB"
    with np.load(folder / "model.npz", allow_pickle=False) as stored:
        assert stored["identity"].dtype == np.float16
    model = find_model("default")
    assert model.model_id == "ict-compact-1"
    assert model.identity_basis_m.dtype == np.float32  # loaded at full precision for the fit
    assert len(model.identity_names) == SHIPPED_IDENTITIES
    assert model.info["licence"] == "MIT" and "ICT" in model.info["source"]
    assert set(model.info["left_out_identity_components"]).isdisjoint(model.identity_names)
    assert "imported_from" not in model.info  # no path of the machine that made it
    assert "ICT FaceKit" in (ROOT / "NOTICE").read_text()
    assert installed_models()[:2] == ["default", "builtin"]


@pytest.mark.slow
@pytest.mark.skipif(not ICT_ZIP.is_file(), reason="needs ../shared/ict-facekit/ICT-FaceKit.zip")
def test_shipped_model_is_made_again_from_ict_facekit_by_the_projects_code():
    from revive_core.avatar.model.ict import read_ict

    made = compact_model(read_ict(ICT_ZIP))
    shipped = find_model("default")
    assert made.identity_names == shipped.identity_names
    assert made.expression_names == shipped.expression_names
    np.testing.assert_array_equal(made.faces, shipped.faces)
    np.testing.assert_allclose(made.identity_basis_m, shipped.identity_basis_m, atol=2e-5)
    np.testing.assert_array_equal(made.landmark_faces, shipped.landmark_faces)


def test_each_eye_has_its_own_texture_tile_so_a_pupil_shows_once():
    model = find_model("default")
    boxes = []
    for side in ("left", "right"):
        regions = [model.region_names.index(f"eye_{part}_{side}") for part in ("iris", "pupil")]
        faces = np.isin(model.vertex_regions[model.faces].max(1), regions)
        uv = model.uvs[model.uv_faces[faces].ravel()]
        boxes.append((uv.min(0), uv.max(0)))
    (low_a, high_a), (low_b, high_b) = boxes
    assert (high_a < low_b).any() or (high_b < low_a).any(), "the irises share texels"
