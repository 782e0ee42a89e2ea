"""The built-in face model: deterministic, symmetric, and each shape a plausible local motion."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from revive_core.model.builtin import builtin_model
from revive_core.model.template import load_template, make_template
from revive_core.model.topology import GROUPS

REQUIRED = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft",
            "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "eyeBlinkLeft",
            "eyeBlinkRight", "browInnerUp")
DIGEST = ("from revive_core.model.builtin import builtin_model; import hashlib; m = builtin_model(); "
          "h = hashlib.sha256(); [h.update(a.tobytes()) for a in (m.vertices_m, m.faces, m.uvs, "
          "m.identity_basis_m, m.expression_deltas_m)]; print(h.hexdigest())")


def test_model_has_the_required_arkit_shapes_and_regions():
    model = builtin_model()
    assert set(REQUIRED) <= set(model.expression_names)
    assert {"face", "eye_left", "eye_right", "mouth_interior"} == set(model.region_names)
    assert len(model.identity_names) >= 20
    assert model.landmark_faces.shape == (478,) and (model.landmark_faces[:468] >= 0).all()


def test_model_is_generated_identically_in_separate_processes():
    digests = {subprocess.run([sys.executable, "-c", DIGEST], capture_output=True, text=True,
                              check=True).stdout.strip() for _ in range(2)}
    assert len(digests) == 1


@pytest.mark.slow
def test_template_regenerates_from_the_sample_photo():
    committed, mirror = load_template()
    fresh, fresh_mirror = make_template()
    assert np.abs(fresh - committed).max() < 5e-4  # half a millimetre
    np.testing.assert_array_equal(fresh_mirror, mirror)


def test_neutral_face_is_left_right_symmetric():
    vertices, mirror = load_template()
    np.testing.assert_allclose(vertices[mirror] * [-1, 1, 1], vertices, atol=2e-5)


def test_blink_closes_the_upper_lid_onto_the_lower_lid():
    model = builtin_model()
    for side in ("left", "right"):
        closed = model.shape(expression={f"eyeBlink{side.title()}": 1.0})
        upper = closed[list(GROUPS[f"eye_{side}_upper"][2:-2]), 1]
        lower = closed[list(GROUPS[f"eye_{side}_lower"][2:-2]), 1]
        assert np.abs(upper.mean() - lower.mean()) < 0.0015
        open_gap = (model.vertices_m[list(GROUPS[f"eye_{side}_upper"][2:-2]), 1].mean()
                    - model.vertices_m[list(GROUPS[f"eye_{side}_lower"][2:-2]), 1].mean())
        assert open_gap > 0.005


def test_jaw_opens_the_lips_and_mouth_close_closes_them_again():
    model = builtin_model()
    upper, lower = 13, 14  # middle of the inner lips
    neutral_gap = model.vertices_m[upper, 1] - model.vertices_m[lower, 1]
    opened = model.shape(expression={"jawOpen": 1.0})
    assert opened[upper, 1] - opened[lower, 1] > neutral_gap + 0.015
    closed = model.shape(expression={"jawOpen": 1.0, "mouthClose": 1.0})
    assert abs((closed[upper, 1] - closed[lower, 1]) - neutral_gap) < 0.003
    chin = model.vertices_m[152]
    assert opened[152, 1] < chin[1] - 0.015


def test_shapes_are_local_and_sided():
    model = builtin_model()
    smile = model.expression_deltas_m[model.expression_names.index("mouthSmileLeft")]
    left_corner, right_corner, forehead = 291, 61, 10
    assert np.linalg.norm(smile[left_corner]) > 0.008
    assert np.linalg.norm(smile[right_corner]) < 0.002
    assert np.linalg.norm(smile[forehead]) < 1e-4
    assert smile[left_corner, 1] > 0  # corners go up


def test_identity_components_change_the_face_but_keep_symmetry():
    model = builtin_model()
    vertices, mirror = load_template()
    for basis in model.identity_basis_m:
        face = basis[: len(mirror)]
        assert np.abs(face).max() > 5e-4
        np.testing.assert_allclose(face[mirror] * [-1, 1, 1], face, atol=2e-4)
