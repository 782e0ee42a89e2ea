"""Tests of ``revive bench texture``: its metrics, its procedural truth, its command line and
one whole (small) run on ICT-FaceKit from ../shared."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from revive_core.bench.texture import psnr, skin_albedo, ssim
from revive_core.cli.main import main

ICT_ZIP = Path(__file__).resolve().parents[2] / "shared" / "ict-facekit" / "ICT-FaceKit.zip"
needs_ict = pytest.mark.skipif(not ICT_ZIP.is_file(), reason="ICT-FaceKit is not in ../shared")
ROW_KEYS = {"method", "seen_psnr", "seen_ssim", "unseen_psnr", "unseen_ssim", "novel_view_psnr",
            "seconds"}


def test_psnr_and_ssim_of_known_differences():
    rng = np.random.default_rng(0)
    image = rng.uniform(0.2, 0.8, (64, 64, 3))
    mask = np.zeros((64, 64), bool)
    mask[8:56, 8:56] = True
    assert psnr(image, image, mask) == float("inf")
    assert ssim(image, image, mask) == pytest.approx(1.0)
    shifted = image + 10 / 255  # every texel 10 levels off: 20 log10(255 / 10) dB
    assert psnr(shifted, image, mask) == pytest.approx(28.13, abs=0.02)
    noisy = np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1)
    assert 0.0 < ssim(noisy, image, mask) < ssim(shifted, image, mask) < 1.0
    outside = image.copy()
    outside[~mask] = 0.0  # differences outside the mask do not count
    assert psnr(outside, image, mask) == float("inf")


def test_bad_views_are_refused_kindly(capsys):
    assert main(["bench", "texture", "--truth", "nowhere", "--views", "2"]) == 2
    err = capsys.readouterr().err
    assert "--views '2'" in err and "1 or 3" in err


def test_missing_truth_is_a_clear_error(tmp_path, capsys):
    assert main(["bench", "texture", "--truth", str(tmp_path / "nothing"), "--views", "1"]) == 2
    assert "ICT-FaceKit not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ict_model():
    from revive_core.avatar.model.ict import read_ict

    return read_ict(ICT_ZIP)


@needs_ict
@pytest.mark.slow
def test_procedural_truth_has_redder_lips_darker_brows_and_painted_eyes(ict_model):
    from revive_core.avatar.texture.uv import uv_layout

    model = ict_model
    layout = uv_layout(model.uvs, model.uv_faces, 256, faces=model.faces,
                       vertices_m=model.vertices_m)
    albedo = skin_albedo(model, layout, np.random.default_rng(0))
    assert albedo.shape == (256, 256, 3) and 0 <= albedo.min() and albedo.max() <= 1
    points = layout.points(model.vertices_m, model.faces)
    landmarks, _ = model.ibug_landmarks(model.vertices_m)
    texels = albedo[layout.rows, layout.cols]

    def near(index, radius=0.002):
        return np.linalg.norm(points - landmarks[index], axis=1) < radius

    def redness(colours):
        return (colours[:, 0] / colours[:, 1]).mean()

    region = model.vertex_regions[model.faces].max(1)[layout.faces]
    skin = region == model.region_names.index("face")
    lips, cheek, brow = near(62) & skin, near(2, 0.01) & skin, near(19) & skin
    assert lips.sum() > 3 and cheek.sum() > 3 and brow.sum() > 3
    assert redness(texels[lips]) > redness(texels[cheek]) + 0.1
    assert texels[brow].mean() < 0.6 * texels[cheek].mean()
    pupil = region == model.region_names.index("eye_pupil_right")
    centre = points[pupil].mean(0)
    assert texels[pupil & (np.linalg.norm(points - centre, axis=1) < 0.0015)].max() < 0.1


@needs_ict
@pytest.mark.slow
def test_one_small_run_writes_the_table_and_exactly_the_json_rows(ict_model, tmp_path,
                                                                   monkeypatch, capsys):
    import revive_core.avatar.model.ict

    # The command reads ICT-FaceKit itself; here it gets the model this module already read.
    monkeypatch.setattr(revive_core.avatar.model.ict, "read_ict", lambda path: ict_model)
    out = tmp_path / "bench.json"
    code = main(["bench", "texture", "--truth", str(ICT_ZIP), "--views", "1", "--heads", "1",
                 "--size", "512", "--steps", "8", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "unseen PSNR" in printed and "fit" in printed
    document = json.loads(out.read_text())
    assert set(document) == {"rows"}
    assert [row["method"] for row in document["rows"]] == ["blur", "delit", "gan"]
    for row in document["rows"]:
        assert set(row) == ROW_KEYS
        assert all(np.isfinite(row[k]) for k in ROW_KEYS - {"method"})
    blur, delit, gan = document["rows"]
    # Lighting removal must pay off where the photo's shading would otherwise be baked in.
    assert delit["unseen_psnr"] > blur["unseen_psnr"]
    assert gan["seconds"] > delit["seconds"]
