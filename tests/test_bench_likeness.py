"""`revive bench likeness`: avatars built from one real photo, measured by a face descriptor.

The real photos live outside the project (``../shared/real-faces``, public photos of public
figures, never committed); the tests that need them are skipped where they are missing.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from revive_core.avatar.detect import detect_face
from revive_core.bench.likeness import EYES, IRISES, RENDERS, eye_measures, find_people
from revive_core.errors import InputError

REAL_FACES = Path(__file__).resolve().parents[2] / "shared" / "real-faces"
needs_faces = pytest.mark.skipif(not (REAL_FACES / "person01" / "a.jpg").is_file(),
                                 reason="needs the real photos in ../shared/real-faces")
needs_dlib = pytest.mark.skipif(
    importlib.util.find_spec("dlib") is None
    or importlib.util.find_spec("face_recognition_models") is None,
    reason="needs the bench extra (dlib-bin, face_recognition_models)")
PEOPLE = {"person01": ("a.jpg", "b.jpg"), "person12": ("a.jpg", "b.jpg")}


def test_find_people_refuses_an_empty_folder_by_name(tmp_path):
    (tmp_path / "notes.txt").write_text("not a person")
    with pytest.raises(InputError, match=re.escape(str(tmp_path))):
        find_people(tmp_path)


def test_find_people_requires_a_jpg_in_every_person_folder(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "b.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="a.jpg"):
        find_people(tmp_path)


def test_find_people_skips_files_and_keeps_the_other_photos_unseen(tmp_path):
    for name in ("bob", "alice"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.jpg").write_bytes(b"")
    (tmp_path / "alice" / "b.png").write_bytes(b"")
    (tmp_path / "alice" / "notes.txt").write_text("")
    (tmp_path / "README.md").write_text("")
    people = find_people(tmp_path)
    assert [p.name for p in people] == ["alice", "bob"]
    assert [p.name for p in people[0].unseen] == ["b.png"] and people[1].unseen == []


def test_eye_measures_divide_lid_gap_and_iris_diameter_by_eye_width():
    points = np.zeros((478, 3))
    for eye, iris, x in zip(EYES, IRISES, (0.0, 50.0)):
        points[list(eye["corners"]), 0] = (x, x + 10.0)  # 10 px wide
        for k, (up, down) in enumerate(eye["lids"]):
            points[[up, down], :2] = [[x + 3 + 2 * k, -1.0], [x + 3 + 2 * k, 2.0]]  # 3 px apart
        centre, right, top, left, bottom = iris
        points[[centre, right, top, left, bottom], :2] = [
            [x + 5, 0.5], [x + 7, 0.5], [x + 5, -1.5], [x + 3, 0.5], [x + 5, 2.5]]  # 4 px across
    aperture, iris_diameter = eye_measures(points)
    assert aperture == pytest.approx(0.3) and iris_diameter == pytest.approx(0.4)


@needs_faces
@needs_dlib
def test_descriptor_puts_two_photos_of_one_person_closer_than_two_people():
    from revive_core.avatar.detect import load_photo
    from revive_core.bench.descriptor import (SAME_PERSON_DISTANCE, FaceDescriber,
                                              descriptor_distance)

    describer = FaceDescriber()
    first, second, other = (describer.describe(load_photo(REAL_FACES / p)) for p in
                            ("person01/a.jpg", "person01/b.jpg", "person02/a.jpg"))
    same, different = descriptor_distance(first, second), descriptor_distance(first, other)
    assert first.shape == (128,)
    assert same < SAME_PERSON_DISTANCE < different


def _run_bench(argv: list[str]) -> int:
    """``revive bench likeness ...`` through the CLI."""
    from revive_core.cli.main import main

    return main(["bench", "likeness", *argv])


@pytest.mark.slow
@needs_faces
@needs_dlib
def test_bench_likeness_renders_and_measures_two_people(tmp_path, capsys):
    photos = tmp_path / "photos"
    for person, files in PEOPLE.items():
        (photos / person).mkdir(parents=True)
        for name in files:
            shutil.copy(REAL_FACES / person / name, photos / person / name)
    (photos / "README.txt").write_text("not a person")  # files beside the people are skipped
    out, report_path = tmp_path / "out", tmp_path / "likeness.json"
    # The delit texture: the GAN's completion adds minutes and nothing this test checks.
    argv = ["--photos", str(photos), "--out", str(out), "--json", str(report_path),
            "--texture-method", "delit"]
    assert _run_bench(argv) == 0
    printed = capsys.readouterr().out
    assert "frontal.png" in printed and "rank-1" in printed and "Build from one photo" in printed

    report = json.loads(report_path.read_text())
    assert {"people", "summary", "yardstick", "photos_without_face", "model"} <= set(report)
    assert [p["person"] for p in report["people"]] == list(PEOPLE)
    for entry in report["people"]:
        assert entry["build_seconds"] > 0 and not entry["reused"]
        assert 5.0 < entry["reprojection"]["psnr_db"] < 60.0
        assert 0.0 < entry["reprojection"]["ssim"] <= 1.0
        for name in RENDERS:
            image = np.asarray(Image.open(out / "renders" / entry["person"] / f"{name}.png"))
            assert image.shape == (512, 512, 3)
            row = entry["renders"][name]
            assert row["face_found"], f"no face found in {entry['person']}/{name}.png"
            assert {"seen", "unseen", "nearest_other", "nearest_person", "rank1",
                    "eye_aperture_ratio", "iris_ratio"} <= set(row)
            for key in ("seen", "unseen", "nearest_other"):
                assert 0.0 < row[key] < 2.0
            assert 0.3 < row["eye_aperture_ratio"] < 3.0 and 0.3 < row["iris_ratio"] < 3.0
        # The head, from its crown to the chin mediapipe finds, fills about 60% of the height.
        frontal_path = out / "renders" / entry["person"] / "frontal.png"
        frontal = np.asarray(Image.open(frontal_path))
        crown = np.flatnonzero((frontal != frontal[0, 0]).any(axis=2).any(axis=1))[0]
        chin = detect_face(frontal_path).landmarks_px[152, 1]
        assert 0.5 < (chin - crown) / 512 < 0.7
    for name in RENDERS:
        assert report["summary"][name]["no_face"] == 0

    # Run again: the avatars are reused, the numbers are the same.
    assert _run_bench(argv) == 0
    again = json.loads(report_path.read_text())
    assert all(entry["reused"] for entry in again["people"])
    assert again["summary"]["frontal"] == report["summary"]["frontal"]
