"""Long hair: the shell hanging from the temples, measured from the photo's hair beside the face."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.spatial import cKDTree

from revive_core.avatar.long_hair import (COLUMNS, CURL_ROWS, HAIR_REGION, ROW_M,
                                          HangingHair, attach_shell, hair_shell, hair_swatch)
from revive_core.avatar.model.registry import find_model
from revive_core.formats import read_avatar, write_avatar

SWATCH = (0.80, 0.80, 0.05, 0.05)


def _hanging(vertices: np.ndarray, *, rows: int, left_m: float, right_m: float | None) -> HangingHair:
    top = float(np.percentile(vertices[:, 1], 60))
    widths = np.full((rows, 2), np.nan)
    widths[:, 1] = left_m
    if right_m is not None:
        widths[:, 0] = right_m
    return HangingHair(top - ROW_M * np.arange(rows), widths, z_centre_m=0.0)


@pytest.fixture(scope="module")
def head():
    model = find_model("default")
    body = np.isin(model.vertex_regions, [model.region_names.index(n)
                                          for n in ("face", "face_side", "scalp")])
    return model, model.vertices_m, body


def test_the_shell_is_a_closed_slab_facing_out_and_clear_of_the_head(head):
    model, vertices, body = head
    hanging = _hanging(vertices, rows=20, left_m=0.13, right_m=0.125)  # from the eyes to the neck
    shell = hair_shell(vertices, body, hanging, SWATCH)
    rows = len(shell.vertices_m) // (2 * COLUMNS)
    above = rows - len(hanging.rows_y)  # from the crown down to the photo's first row
    assert shell.vertices_m.shape == (2 * rows * COLUMNS, 3) and above > 5
    np.testing.assert_allclose(shell.vertices_m[:, 1].max(), vertices[body, 1].max(), atol=2 * ROW_M)
    # Closed: every edge is shared by exactly two triangles, in opposite directions.
    edges = Counter(tuple(e) for f in shell.faces for e in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])))
    assert all(edges[(b, a)] == 1 for (a, b) in edges), "an open or doubly used edge"
    # Facing out: the outer layer's triangles face away from the vertical axis, the inner's toward it.
    corners = shell.vertices_m[shell.faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    radial = corners.mean(axis=1) * [1.0, 0.0, 1.0]
    outer = (shell.faces < rows * COLUMNS).all(axis=1)
    inner = (shell.faces >= rows * COLUMNS).all(axis=1)
    facing = np.einsum("nd,nd->n", normals, radial)
    assert (facing[outer] > 0).mean() > 0.99 and (facing[inner] < 0).mean() > 0.99
    # Clear of the head below the photo's first row; above it, it rises out of the scalp's hair.
    layers = shell.vertices_m.reshape(2, rows, COLUMNS, 3)
    distance, _ = cKDTree(vertices[body]).query(layers[:, above:].reshape(-1, 3))
    assert distance.min() > 0.003
    # Hair falls straight from the head's widest (it does not follow the neck in) and out to the
    # photo's half-widths; its ends curl in to the neck.
    outside = shell.vertices_m[:rows * COLUMNS].reshape(rows, COLUMNS, 3)
    widest = np.abs(outside[above:, :, 0]).max(axis=1)
    assert np.diff(widest[:-CURL_ROWS]).min() > -0.002
    np.testing.assert_allclose([outside[-CURL_ROWS - 1, :, 0].min(), outside[-CURL_ROWS - 1, :, 0].max()],
                               [-0.125, 0.13], atol=0.004)
    assert widest[-1] < widest[-CURL_ROWS - 1] - 0.02, "the ends curl in to the neck"
    u0, v0, side, _ = SWATCH
    assert (shell.uvs >= [u0, v0]).all() and (shell.uvs <= [u0 + side, v0 + side]).all()


def test_a_side_without_long_hair_only_wraps_the_back(head):
    model, vertices, body = head
    hanging = _hanging(vertices, rows=30, left_m=0.13, right_m=None)
    shell = hair_shell(vertices, body, hanging, SWATCH)
    rows = len(shell.vertices_m) // (2 * COLUMNS)
    outside = shell.vertices_m[:rows * COLUMNS].reshape(rows, COLUMNS, 3)
    middle = outside[rows - len(hanging.rows_y) // 2]
    with_hair, without = middle[np.argmax(middle[:, 0])], middle[np.argmin(middle[:, 0])]
    assert with_hair[2] > hanging.z_centre_m, "the long side reaches in front of the ears"
    assert without[2] < hanging.z_centre_m - 0.03, "the other side stays behind the ear"


def test_rows_the_measure_missed_or_cut_short_do_not_ridge_the_shell(head):
    model, vertices, body = head
    even = _hanging(vertices, rows=24, left_m=0.13, right_m=0.125)
    gappy = _hanging(vertices, rows=24, left_m=0.13, right_m=0.125)
    gappy.half_width_m[[6, 9, 10], 0] = np.nan  # gaps between strands
    gappy.half_width_m[15, 1] = 0.08  # one row cut short
    np.testing.assert_allclose(hair_shell(vertices, body, gappy, SWATCH).vertices_m,
                               hair_shell(vertices, body, even, SWATCH).vertices_m, atol=1e-9)


def test_the_swatch_is_inside_the_texels_painted_fully_with_hair():
    blend = np.zeros((64, 64))
    covered = np.zeros((64, 64), bool)
    covered[:, :40] = True
    blend[10:30, 5:45] = 1.0  # hair, running off the covered texels at column 40
    u0, v0, side, _ = hair_swatch(blend, covered)
    cols = np.arange(int(round(u0 * 64)), int(round((u0 + side) * 64)))
    rows = np.arange(int(round((1 - v0 - side) * 64)), int(round((1 - v0) * 64)))
    assert len(cols) >= 10
    assert blend[np.ix_(rows, cols)].min() == 1.0 and covered[np.ix_(rows, cols)].all()
    assert hair_swatch(np.zeros((64, 64)), covered) is None


def test_an_avatar_with_its_shell_round_trips_and_no_expression_moves_the_shell(tmp_path, avatar_builder):
    avatar = avatar_builder()
    vertices = avatar.vertices_m.astype(np.float64)
    body = np.ones(len(vertices), bool)
    hanging = HangingHair(np.linspace(0.0, -0.08, 14), np.full((14, 2), 0.11), z_centre_m=0.0)
    with_shell = attach_shell(avatar, hair_shell(vertices, body, hanging, SWATCH))
    write_avatar(with_shell, tmp_path / "a")
    back = read_avatar(tmp_path / "a")
    added = back.vertex_count - avatar.vertex_count
    assert added % (2 * COLUMNS) == 0 and added >= 2 * 14 * COLUMNS
    assert back.region_names[-1] == HAIR_REGION
    assert (back.vertex_regions[avatar.vertex_count:] == len(back.region_names) - 1).all()
    assert not back.blendshape_deltas_m[:, avatar.vertex_count:].any()
    np.testing.assert_array_equal(back.faces[:len(avatar.faces)], avatar.faces)


def test_room_for_hair_squeezes_the_teeth_into_half_their_block_and_leaves_the_tile_free(head):
    from revive_core.avatar.long_hair import hair_tile, make_room_for_hair

    model = head[0]
    roomy = make_room_for_hair(model)
    u0, v0, width, height = hair_tile(roomy)
    assert width > 0.2 and height > 0.1, "a tile of at least 200 x 100 texels at 1024"
    corners = roomy.uvs[roomy.uv_faces]
    overlaps = ((corners.max(axis=1) > [u0, v0]) & (corners.min(axis=1) < [u0 + width, v0 + height])).all(axis=1)
    assert not overlaps.any(), "no triangle's UVs reach into the tile"
    teeth = roomy.vertex_regions[roomy.faces].max(axis=1) == roomy.region_names.index("teeth")
    before, after = model.uvs[roomy.uv_faces[teeth]], roomy.uvs[roomy.uv_faces[teeth]]
    np.testing.assert_allclose(after[..., 0], before[..., 0])
    assert np.ptp(after[..., 1]) == pytest.approx(0.5 * np.ptp(before[..., 1]), rel=1e-4)
    np.testing.assert_array_equal(roomy.uvs[roomy.uv_faces[~teeth]], model.uvs[model.uv_faces[~teeth]])
    assert make_room_for_hair(roomy) is roomy


def test_the_tile_takes_the_photos_hair_where_the_photo_faces_the_shell_and_its_colour_elsewhere(
        avatar_builder):
    from revive_core.avatar.long_hair import ShellView, paint_shell, sample_shell
    from revive_core.geometry.camera import Camera

    head = avatar_builder()
    vertices = head.vertices_m.astype(np.float64)
    hanging = HangingHair(np.linspace(0.06, -0.08, 24), np.full((24, 2), 0.12), z_centre_m=0.0)
    rect = (0.5, 0.25, 0.5, 0.25)
    shell = hair_shell(vertices, np.ones(len(vertices), bool), hanging, rect)
    # From the head's left (+X): the shell's left side faces the camera, its back is edge-on,
    # its right side hidden behind the head.
    camera = Camera.for_photo(400, 400).posed((0.0, -np.pi / 2, 0.0), (0.0, 0.0, -0.7))
    photo = np.zeros((400, 400, 3), np.uint8)
    photo[..., 0] = 200  # red hair wherever the photo looks
    grey = np.full(3, 0.4)

    def tile(mask: np.ndarray) -> np.ndarray:
        view = ShellView(photo, camera, vertices, head.faces, mask)
        albedo = paint_shell(np.zeros((256, 256, 3), np.uint8), sample_shell(256, rect, shell, view),
                             colour=grey)
        assert not albedo[:128].any() and not albedo[:, :128].any(), "nothing outside the tile"
        return albedo[128:192, 128:256].astype(float)  # v 0.5..0.25, u 0.5..1

    seen = tile(np.ones((400, 400), bool))
    below_eyes = seen[-int(64 * len(hanging.rows_y) * 2 * COLUMNS / len(shell.vertices_m)):]
    # the left side, about 40 to 80 degrees from the back, above the ends curling in
    facing = below_eyes[:-len(below_eyes) // 4, 104:122]
    assert (np.abs(facing - [200, 0, 0]).max(axis=-1) < 1).mean() > 0.9, "facing: the photo"
    for name, part in {"hidden": below_eyes[:, 4:24], "edge-on": below_eyes[:, 60:68]}.items():
        # not the photo's pixels smeared along it: the photo's hair colour with its grain
        assert part[..., 0].std() > 3 and abs(np.median(part[..., 0]) - 200) < 20, name
        assert part[..., 1].max() == 0, name
    unseen = tile(np.zeros((400, 400), bool))  # no hair in the photo: the colour given, grained
    assert abs(np.median(unseen) - 102) < 3 and unseen.std() > 3 and np.ptp(unseen, axis=-1).max() == 0
