"""Avatar and Take formats: round trips, atomic writes, and clear rejection of bad files."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile

import numpy as np
import pytest

from revive_core.formats import FormatError, read_avatar, read_take, write_avatar, write_take


def test_avatar_round_trip_keeps_every_array_and_record(tiny_avatar, tmp_path):
    write_avatar(tiny_avatar, tmp_path / "a")
    back = read_avatar(tmp_path / "a")
    for field in ("vertices_m", "faces", "uvs", "uv_faces", "vertex_regions", "landmark_faces",
                  "landmark_bary", "blendshape_deltas_m"):
        np.testing.assert_array_equal(getattr(back, field), getattr(tiny_avatar, field))
    assert back.blendshape_names == tiny_avatar.blendshape_names
    assert back.consent == tiny_avatar.consent
    assert back.albedo_png == tiny_avatar.albedo_png


def with_quads(avatar):
    """``avatar`` (the fixture's UV sphere) with its quads: per column a cap triangle, 13 quads
    stored as (a, d, c), (a, c, b), and the other cap's triangle."""
    return dataclasses.replace(avatar, polygon_triangles=np.tile([1] + [2] * 13 + [1], 24)
                               .astype(np.uint8))


def test_avatar_round_trip_keeps_its_quads(tiny_avatar, tmp_path):
    quads = with_quads(tiny_avatar)
    back = read_avatar(write_avatar(quads, tmp_path / "a"))
    np.testing.assert_array_equal(back.polygon_triangles, quads.polygon_triangles)
    assert back.polygon_triangles.dtype == np.uint8
    assert (back.polygon_triangles == 2).sum() == 24 * 13
    # Without polygons (as every avatar written before quads) each face is a triangle.
    assert read_avatar(write_avatar(tiny_avatar, tmp_path / "b")).polygon_triangles is None


def test_avatar_round_trip_keeps_its_hair_and_refuses_weights_outside_0_to_1(tiny_avatar, tmp_path):
    weights = np.linspace(0.0, 1.0, tiny_avatar.vertex_count).astype(np.float32)
    back = read_avatar(write_avatar(dataclasses.replace(tiny_avatar, hair_weights=weights),
                                    tmp_path / "a"))
    np.testing.assert_array_equal(back.hair_weights, weights)
    assert read_avatar(write_avatar(tiny_avatar, tmp_path / "b")).hair_weights is None
    write_avatar(dataclasses.replace(tiny_avatar, hair_weights=weights * 2), tmp_path / "c")
    with pytest.raises(FormatError, match="hair_weights") as error:
        read_avatar(tmp_path / "c")
    assert "mesh.npz" in str(error.value)


@pytest.mark.parametrize("change, problem", [
    (lambda a: {"polygon_triangles": a.polygon_triangles[1:]}, "add up to"),
    (lambda a: {"polygon_triangles": np.r_[[0], a.polygon_triangles]}, "between 1 and 255"),
    (lambda a: {"polygon_triangles": np.r_[[2, 1], a.polygon_triangles[2:]]}, "do not match faces"),
    (lambda a: {"uv_faces": a.uv_faces[:, [0, 2, 1]]}, "do not match uv_faces"),
])
def test_avatar_with_damaged_polygons_is_refused_naming_the_file(tiny_avatar, tmp_path, change,
                                                                 problem):
    quads = with_quads(tiny_avatar)
    folder = write_avatar(quads, tmp_path / "a")
    with np.load(folder / "mesh.npz") as data:
        arrays = dict(data)
    arrays.update(change(quads))
    np.savez(folder / "mesh.npz", **arrays)
    with pytest.raises(FormatError, match=problem) as error:
        read_avatar(folder)
    assert str(folder / "mesh.npz") in str(error.value)


def test_faces_changed_without_their_polygons_are_not_written(tiny_avatar, tmp_path):
    quads = with_quads(tiny_avatar)
    front = dataclasses.replace(quads, faces=quads.faces[:-1], uv_faces=quads.uv_faces[:-1])
    with pytest.raises(FormatError, match="polygon_triangles add up to"):
        write_avatar(front, tmp_path / "a")
    assert not (tmp_path / "a").exists()


def test_take_round_trip_keeps_curves_audio_and_segments(tiny_take, tmp_path):
    write_take(tiny_take, tmp_path / "t")
    back = read_take(tmp_path / "t")
    assert back.frame_count == tiny_take.frame_count and back.fps == tiny_take.fps
    np.testing.assert_allclose(back.blendshapes, tiny_take.blendshapes, atol=1e-5)
    np.testing.assert_array_equal(back.audio, tiny_take.audio)
    assert back.sample_rate == tiny_take.sample_rate


def test_avatar_reads_from_a_zip_of_the_folder(tiny_avatar, tmp_path):
    folder = write_avatar(tiny_avatar, tmp_path / "a")
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"a/{f.name}")
    assert read_avatar(archive).vertex_count == tiny_avatar.vertex_count


def test_zip_with_parent_path_is_rejected(tiny_avatar, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../avatar.json", "{}")
    with pytest.raises(FormatError, match="unsafe entry"):
        read_avatar(archive)


def test_unknown_version_is_rejected_with_a_hint_to_update(tiny_avatar, tmp_path):
    folder = write_avatar(tiny_avatar, tmp_path / "a")
    doc = json.loads((folder / "avatar.json").read_text())
    doc["version"] = 99
    (folder / "avatar.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="version 99") as error:
        read_avatar(folder)
    assert "Update Revive" in error.value.hint


def test_corrupt_json_names_the_file(tiny_take, tmp_path):
    folder = write_take(tiny_take, tmp_path / "t")
    (folder / "take.json").write_text('{"format": "revive.take", "version": 1,')
    with pytest.raises(FormatError, match="take.json is not valid JSON"):
        read_take(folder)


def test_pickled_arrays_are_never_loaded(tiny_avatar, tmp_path):
    folder = write_avatar(tiny_avatar, tmp_path / "a")
    buffer = io.BytesIO()
    np.savez(buffer, deltas=np.array([{"evil": 1}], dtype=object))
    (folder / "blendshapes.npz").write_bytes(buffer.getvalue())
    with pytest.raises(FormatError, match="pickled"):
        read_avatar(folder)


def test_nan_vertices_are_rejected(tiny_avatar, tmp_path):
    folder = write_avatar(tiny_avatar, tmp_path / "a")
    with np.load(folder / "mesh.npz") as data:
        arrays = dict(data)
    arrays["vertices"][0, 0] = np.nan
    np.savez(folder / "mesh.npz", **arrays)
    with pytest.raises(FormatError, match="NaN"):
        read_avatar(folder)


def test_missing_file_names_what_is_missing(tiny_avatar, tmp_path):
    folder = write_avatar(tiny_avatar, tmp_path / "a")
    (folder / "albedo.png").unlink()
    with pytest.raises(FormatError, match="missing albedo.png"):
        read_avatar(folder)


def test_take_with_wrong_frame_count_is_rejected(tiny_take, tmp_path):
    folder = write_take(tiny_take, tmp_path / "t")
    doc = json.loads((folder / "take.json").read_text())
    doc["frame_count"] += 3
    (folder / "take.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="must have shape"):
        read_take(folder)


def test_failed_write_keeps_the_previous_avatar(tiny_avatar, tmp_path):
    folder = write_avatar(tiny_avatar, tmp_path / "a")
    before = sorted(p.name for p in folder.iterdir())
    broken = tiny_avatar
    broken_faces = broken.faces.copy()
    broken.faces = broken.faces[:, :2]  # invalid: the write must refuse before touching disk
    with pytest.raises(FormatError):
        write_avatar(broken, folder)
    broken.faces = broken_faces
    assert sorted(p.name for p in folder.iterdir()) == before
    assert read_avatar(folder).vertex_count == tiny_avatar.vertex_count
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_interrupted_write_leaves_no_half_folder(tiny_take, tmp_path, monkeypatch):
    import revive_core.formats.take as take_module

    def explode(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(take_module, "wav_bytes", explode)
    with pytest.raises(KeyboardInterrupt):
        write_take(tiny_take, tmp_path / "t")
    assert list(tmp_path.iterdir()) == []


def test_addon_reads_formats_with_the_same_code():
    """The add-on's copy is the core's package itself (a link in the checkout)."""
    from pathlib import Path

    import revive_core.formats as core

    addon = Path(__file__).resolve().parents[1] / "blender_addon" / "revive_formats"
    assert addon.resolve() == Path(core.__file__).resolve().parent
    assert not Path(os.readlink(addon)).is_absolute()  # a relative link works in any checkout


def test_progress_lines_read_back_as_they_were_printed():
    """The render's progress lines: printed by the add-on, parsed by the core and the add-on."""
    from revive_core.formats import progress

    frame = progress.FRAME.match(progress.frame_line(12, 3, 40))
    assert frame.groups() == ("12", "3", "40")
    assert progress.DEVICE.match(progress.device_line("OPTIX (NVIDIA H200)")).group(1) == \
        "OPTIX (NVIDIA H200)"
    assert float(progress.SECONDS_PER_FRAME.match(
        progress.seconds_per_frame_line(0.12345)).group(1)) == 0.123
    assert progress.FRAMES.match(progress.frames_line(2, 3, "/v.mp4.frames")).groups() == \
        ("2", "3", "/v.mp4.frames")
    assert progress.WROTE.match(progress.wrote_line("/out/v.mp4")).group(1) == "/out/v.mp4"


def test_last_message_is_the_last_revive_line_and_its_hint():
    from revive_core.formats.progress import last_message

    lines = ["Revive: device CPU\n", "Revive: Avatar not found: /a\n", "  Check the path.\n", "\n"]
    assert last_message(lines) == ("Avatar not found: /a", "Check the path.")
    assert last_message(["Revive: stopped"]) == ("stopped", "")
    assert last_message(["Traceback (most recent call last):", "  boom"]) is None
