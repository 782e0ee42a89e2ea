"""Tests of revive_core.emotion.face (a face's emotion from ARKit blendshapes, by FACS rules)
and of ``revive inspect AVATAR`` showing each photo's expression emotion.

The real-photo test fits the project's face model to photos in ../shared/real-faces (public
photos of public figures, never copied into the project) and reads the fitted expression, as
an avatar records it: mediapipe's face mesh gives landmarks, not blendshapes (the blendshape
model of its face landmarker task is not shipped in the package), so the fit is what gives a
photo its ARKit weights. Photos were chosen by looking at them: broad smiles and still faces.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from revive_core.cli.main import main
from revive_core.emotion.classify import EMOTIONS
from revive_core.emotion.face import PROTOTYPES, explain_face, face_emotion
from revive_core.errors import InputError

REAL_FACES = Path(__file__).resolve().parents[2] / "shared" / "real-faces"
SMILING = ["person06/c.jpg", "person08/b.jpg", "person04/f.jpg"]
STILL = ["person01/d.jpg", "person07/e.jpg", "person05/c.jpg"]

FACES = {
    "joy": {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.75, "cheekSquintLeft": 0.4,
            "cheekSquintRight": 0.35},
    "sadness": {"mouthFrownLeft": 0.7, "mouthFrownRight": 0.6, "browInnerUp": 0.6,
                "browDownLeft": 0.3, "browDownRight": 0.3},
    "surprise": {"browInnerUp": 0.8, "browOuterUpLeft": 0.7, "browOuterUpRight": 0.7,
                 "eyeWideLeft": 0.6, "eyeWideRight": 0.6, "jawOpen": 0.6},
    "fear": {"browInnerUp": 0.7, "browOuterUpLeft": 0.4, "browOuterUpRight": 0.4,
             "browDownLeft": 0.4, "browDownRight": 0.4, "eyeWideLeft": 0.7, "eyeWideRight": 0.7,
             "mouthStretchLeft": 0.7, "mouthStretchRight": 0.7, "jawOpen": 0.3},
    "anger": {"browDownLeft": 0.8, "browDownRight": 0.8, "eyeSquintLeft": 0.5,
              "eyeSquintRight": 0.5, "mouthPressLeft": 0.7, "mouthPressRight": 0.7},
    "disgust": {"noseSneerLeft": 0.7, "noseSneerRight": 0.6, "mouthUpperUpLeft": 0.5,
                "mouthUpperUpRight": 0.5},
}


@pytest.mark.parametrize("emotion", sorted(FACES))
def test_each_facs_prototype_reads_as_its_emotion(emotion: str) -> None:
    reading = explain_face(FACES[emotion])
    assert reading.label.label == emotion and reading.label.intensity > 0.5
    assert set(name for name, _ in reading.top_blendshapes) <= set(FACES[emotion])


def test_only_the_projects_emotions_are_emitted() -> None:
    assert set(PROTOTYPES) <= set(EMOTIONS)
    for face in FACES.values():
        assert face_emotion(face).label in EMOTIONS


def test_a_partial_prototype_or_a_still_face_is_neutral() -> None:
    assert face_emotion({}) .label == "neutral"
    assert face_emotion({"browDownLeft": 0.9, "browDownRight": 0.8}).label == "neutral"
    assert face_emotion({"jawOpen": 0.9}).label == "neutral"  # speaking is not surprise
    assert face_emotion({"mouthSmileLeft": 0.2, "mouthSmileRight": 0.2}).label == "neutral"
    still = explain_face({"eyeBlinkLeft": 0.5, "jawOpen": 0.1})
    assert still.label.intensity == 0 and still.top_blendshapes[0] == ("eyeBlinkLeft", 0.5)


def test_a_broader_smile_reads_as_stronger_joy() -> None:
    intensities = [face_emotion({"mouthSmileLeft": w, "mouthSmileRight": w,
                                 "cheekSquintLeft": w / 2, "cheekSquintRight": w / 2}).intensity
                   for w in (0.6, 0.75, 0.9)]
    assert intensities == sorted(intensities) and intensities[0] < intensities[-1]


def test_names_outside_arkit_are_ignored_and_bad_weights_refused() -> None:
    assert face_emotion({**FACES["joy"], "myCustomShape": 5.0}).label == "joy"
    for bad in ({"mouthSmileLeft": 1.7}, {"jawOpen": float("nan")}, {"jawOpen": "0.5"}):
        with pytest.raises(InputError):
            face_emotion(bad)
    with pytest.raises(InputError):
        face_emotion([("jawOpen", 0.5)])  # type: ignore[arg-type]


def test_inspect_shows_the_emotion_of_each_photos_expression(tmp_path, capsys,
                                                            tiny_avatar) -> None:
    from revive_core.formats import write_avatar

    fits = [{"file": "smile.jpg", "expression": FACES["joy"]},
            {"file": "still.jpg", "expression": {"browDownLeft": 0.5}}]
    avatar = dataclasses.replace(tiny_avatar, provenance={**tiny_avatar.provenance, "fit": fits})
    folder = write_avatar(avatar, tmp_path / "avatar")
    assert main(["inspect", str(folder), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["expressions"]
    assert [(r["file"], r["label"]) for r in rows] == [("smile.jpg", "joy"),
                                                       ("still.jpg", "neutral")]
    assert rows[0]["from"][0] == ["mouthSmileLeft", 0.8]
    assert main(["inspect", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "smile.jpg: joy" in out and "mouthSmileLeft 0.80" in out and "still.jpg: neutral" in out


@pytest.mark.slow
@pytest.mark.skipif(not REAL_FACES.is_dir(), reason="needs the real photos in ../shared/real-faces")
def test_fitted_expressions_of_real_photos_read_smiles_as_joy_and_still_faces_not(
        tmp_path, capsys, tiny_avatar) -> None:
    from revive_core.avatar.detect import detect_face
    from revive_core.avatar.fit.solve import fit_model
    from revive_core.avatar.model.registry import find_model
    from revive_core.formats import write_avatar

    model = find_model("default")
    fits = []
    for name in SMILING + STILL:
        fit = fit_model(model, [detect_face(REAL_FACES / name)], photometric=False)
        # recorded as the avatar's provenance records it (avatar.build.avatar_from_fit)
        fits.append({"file": name, "expression": {
            n: round(float(w), 4) for n, w in zip(model.expression_names, fit.photos[0].expression)
            if w > 0.01}})
    labels = {f["file"]: face_emotion(f["expression"]) for f in fits}
    for name in SMILING:
        assert labels[name].label == "joy" and labels[name].intensity > 0.5, (name, labels[name])
    for name in STILL:
        assert labels[name].label != "joy", (name, labels[name])
    avatar = dataclasses.replace(tiny_avatar, provenance={**tiny_avatar.provenance, "fit": fits})
    assert main(["inspect", str(write_avatar(avatar, tmp_path / "avatar")), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["expressions"]
    assert [r["label"] for r in rows] == [labels[f["file"]].label for f in fits]
    assert all(r["from"][0][0].startswith("mouthSmile") for r in rows[:len(SMILING)])
