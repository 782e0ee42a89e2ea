"""A take's performance split into layers (mouth, emotion, blinks) for editors such as Blender.

The layers are an optional part of the Take format: written by ``revive say`` from the
animation's own stages, read back exactly, and absent from older takes (which stay readable).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from revive_core.take.animate import animate
from revive_core.emotion.classify import EmotionLabel
from revive_core.formats import read_take, write_take
from revive_core.formats.errors import FormatError
from revive_core.formats.take import TAKE_LAYERS
from revive_core.voice.speech import synthesize


@pytest.fixture(scope="module")
def performance():
    """A real spoken sentence, long enough for a blink, with a strong joy on top."""
    speech = synthesize("Hello my dear, I am so very proud of you. Please be happy, always.",
                        language="en")
    return animate(speech, fps=25.0, emotion=EmotionLabel("joy", 0.9), seed=3)


def test_the_animation_layers_add_up_to_the_combined_curves(performance):
    layers = performance.layers
    assert tuple(layers) == TAKE_LAYERS
    for weights in layers.values():
        assert weights.shape == performance.blendshapes.shape and weights.dtype == np.float32
    total = sum(layers.values())
    np.testing.assert_allclose(np.clip(total, 0.0, 1.0), performance.blendshapes, atol=1e-6)

    def column(layer: str, name: str) -> np.ndarray:
        return layers[layer][:, performance.blendshape_names.index(name)]

    # Each layer holds what its stage made: visemes, the smile, the eyelids.
    assert column("mouth", "jawOpen").max() > 0.2
    assert np.abs(column("mouth", "cheekSquintLeft")).max() == 0.0
    assert column("emotion", "mouthSmileLeft").max() > 0.3
    assert np.abs(column("emotion", "eyeBlinkLeft")).max() == 0.0
    assert column("blinks", "eyeBlinkLeft").max() > 0.9 and len(performance.blinks_s) >= 1
    assert np.abs(column("blinks", "jawOpen")).max() == 0.0


def test_a_neutral_line_has_an_empty_emotion_layer():
    speech = synthesize("Good morning.", language="en")
    layers = animate(speech, fps=25.0, emotion=EmotionLabel("neutral", 0.5)).layers
    assert not np.any(layers["emotion"])


def test_layers_survive_a_round_trip_and_older_takes_read_without_them(tmp_path, take_builder):
    plain = write_take(take_builder(seconds=0.4), tmp_path / "plain")
    assert "layers" not in json.loads((plain / "take.json").read_text())
    assert read_take(plain).layers == {}

    take = take_builder(seconds=0.4)
    n = take.frame_count
    take.layers = {"mouth": {"jawOpen": take.curve("jawOpen")},
                   "blinks": {"eyeBlinkLeft": np.linspace(0.0, 1.0, n, dtype=np.float32)}}
    back = read_take(write_take(take, tmp_path / "layered")).layers
    assert sorted(back) == ["blinks", "mouth"]
    np.testing.assert_allclose(back["mouth"]["jawOpen"], take.curve("jawOpen"), atol=1e-5)
    np.testing.assert_allclose(back["blinks"]["eyeBlinkLeft"], np.linspace(0, 1, n), atol=1e-5)


def test_a_layer_curve_of_the_wrong_length_is_refused_by_name(tmp_path, take_builder):
    take = take_builder(seconds=0.4)
    folder = write_take(take, tmp_path / "take")
    document = json.loads((folder / "take.json").read_text())
    document["layers"] = {"emotion": {"browInnerUp": [0.0, 0.1]}}
    (folder / "take.json").write_text(json.dumps(document))
    with pytest.raises(FormatError, match="layer 'emotion' 'browInnerUp' must have shape"):
        read_take(folder)
