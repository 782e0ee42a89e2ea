"""Tests of revive_core.avatar.lips_closed: a resting face shows no teeth between its lips."""
from __future__ import annotations

import numpy as np

from revive_core.avatar.lips_closed import close_lips, teeth_showing
from revive_core.avatar.model.registry import find_model


def test_the_default_models_resting_lips_part_and_close_lips_brings_them_together():
    model = find_model("default")
    rest = model.shape()
    assert teeth_showing(model, rest) > 20, "the model's neutral face shows its teeth"
    closed = close_lips(model, rest)
    assert teeth_showing(model, closed) == 0
    moved = np.linalg.norm(closed - rest, axis=1)
    assert 0.0001 < moved.max() < 0.002, "the lips move a fraction of a millimetre to a few"
    mouth = model.region_mask("teeth")
    far = np.linalg.norm(rest[:, :2] - rest[mouth, :2].mean(0), axis=1) > 0.06
    assert moved[far].max() < 1e-4, "nothing far from the mouth moves"


def test_a_face_whose_teeth_do_not_show_is_left_as_it_is():
    model = find_model("default")
    closed = close_lips(model, model.shape())
    np.testing.assert_array_equal(close_lips(model, closed), closed)
