"""Long hair: a hair shell hanging from the temples, shaped by the hair the photo shows beside
the face and neck.

The scalp's hair volume (``hair.grow_hair``) cannot reach past the ears: hair that falls to the
jaw or the shoulders would otherwise only be painted on the cheeks, the neck and the bust. Here,
row by row down the head (every ``ROW_M``, starting at the eyes), each side of the photo is read
outward from the face's outline (or the neck's, below the jaw): where it shows hair (pixels of
the person not of the skin's colour and of the colours of the hair over the forehead), the hair's outer
edge is that row's half-width on that side.
A side whose hair reaches below the mouth has long hair (shorter side hair lies on the head
and is painted there). The rows end at the shoulders: hair lying on them stays painted on the bust. Long hair seen
on one side only is taken to fall on both.

The shell is a slab ``SHELL_THICKNESS_M`` thick, open toward the face: each row is an arc of an
ellipse about the vertical axis through the ears, from one side's front edge around the back of
the head to the other's. Its half-width is the photo's, never closer to the head than
``MIN_CLEARANCE_M``; its depth behind the ears is the back of the skull's (hair falls straight
down from it, it does not follow the nape in). A side that shows no hair there only wraps the
back (its front edge retreats behind the ear). The shell's UVs map to a square of the avatar's
texture that is painted hair everywhere (``hair_swatch``); its columns run down the hair, so the
hair texture's streaks hang along it.

Functions
---------
measure_hanging_hair  photo + fitted head -> HangingHair (half-width per row and side), or None
hair_swatch           hair blend of the texture -> a UV square painted hair everywhere
hair_shell            rest head + HangingHair + swatch -> the shell's mesh (ShellMesh)
attach_shell          Avatar + ShellMesh -> the Avatar with the shell as its "hair" region
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt, uniform_filter1d

from revive_core.formats import Avatar
from revive_core.geometry.camera import Camera

__all__ = ["HAIR_REGION", "HangingHair", "HeadRows", "ShellMesh", "attach_shell", "hair_shell", "hair_swatch",
           "measure_hanging_hair"]

HAIR_REGION = "hair"
ROW_M = 0.006  # height of one row of the measure and of the shell
SAMPLE_STEP_M = 0.002  # along a row, outward from the head
NEAR_M = 0.03  # a row shows hair on a side when enough samples this near the face are hair
NEAR_SHARE = 0.4  # ... this share of them
REACH_M = 0.16  # the farthest out a row is read
GAP_M = 0.012  # the hair ends at the first gap this wide
MISSING_ROWS = 2  # a side's hair has ended after this many rows without it
SHOULDER_M = 0.02  # below the face, a body this much wider than the neck is the shoulders
MIN_SAMPLES = 200  # hair pixels over the forehead needed to know the hair's colours
HAIR_LIKENESS = 3.0  # Mahalanobis distance (Lab) from the hair's colours within which a pixel is hair
SPREAD_FLOOR = np.diag([9.0, 2.0, 2.0])  # Lab variances: hair of one even colour matches itself
SHELL_THICKNESS_M = 0.006
MIN_CLEARANCE_M = 0.012  # the shell's outside from the head: its inside stays 6 mm clear
FRONT_DEG = 100.0  # a side's front edge with hair there: a little in front of the ears
BACK_DEG = 55.0  # ... without: behind the ear
MAX_FLARE = 0.2  # the most a row's half-width grows per height (hair lying out on the
# shoulders, or a collar read as hair, would make it flare)
SMOOTH_ROWS = 5  # the half-widths, depths and edges are averaged over this many rows
COLUMNS = 33  # vertices across each row of the shell
MIN_SWATCH_TEXELS = 6


@dataclass
class HeadRows:
    """Where on the fitted head the rows of hanging hair are read.

    Attributes
    ----------
    body : np.ndarray [shape=(V,)] bool
        The vertices of the head's outer surface (skin, scalp, neck and shoulders).
    outline : np.ndarray [shape=(K, 3)]
        Points of the face's outline (mediapipe's face oval), model frame.
    top_y : float
        Height of the first row (the eyes), model frame.
    reach_y : float
        The height hair must reach to be long hair (the mouth).
    z_centre : float
        Depth of the vertical axis through the ears.
    """

    body: np.ndarray
    outline: np.ndarray
    top_y: float
    reach_y: float
    z_centre: float


@dataclass
class HangingHair:
    """Hair hanging beside the face and neck, as seen in one photo.

    Attributes
    ----------
    rows_y : np.ndarray [shape=(R,)]
        Height of each row, model frame (metres), from the eyes down.
    half_width_m : np.ndarray [shape=(R, 2)]
        Distance from the head's midline (x = 0) to the hair's outer edge on the -X and +X
        sides; NaN where that side shows no hair at that height.
    z_centre_m : float
        Depth (z) of the vertical axis through the ears, about which each row is an arc.
    """

    rows_y: np.ndarray
    half_width_m: np.ndarray
    z_centre_m: float

    @property
    def length_m(self) -> float:
        """From the eyes to the lowest hair."""
        return float(self.rows_y[0] - self.rows_y[-1])

    def summary(self) -> dict:
        sides = {}
        for k, side in enumerate(("right", "left")):  # -X is the person's right
            seen = ~np.isnan(self.half_width_m[:, k])
            sides[side] = round(float(self.rows_y[0] - self.rows_y[seen][-1]), 3) if seen.any() else 0.0
        return {"length_m": round(self.length_m, 3), "side_length_m": sides}


@dataclass
class ShellMesh:
    """A mesh to append to an avatar: vertices (N, 3) model frame, quads as triangle pairs
    (a, b, c) + (a, c, d), one UV per vertex."""

    vertices_m: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray


def measure_hanging_hair(lab: np.ndarray, not_skin: np.ndarray, forehead_hair: np.ndarray,
                         camera: Camera, vertices_m: np.ndarray,
                         head: HeadRows) -> HangingHair | None:
    """The hair hanging beside the face and neck in one photo, or None (short hair, or none).

    Parameters
    ----------
    lab : np.ndarray [shape=(H, W, 3)]
        The photo in CIE Lab (L 0..100, a and b about 0).
    not_skin : np.ndarray [shape=(H, W)] bool
        The person's pixels outside the face that are not of the skin's colour.
    forehead_hair : np.ndarray [shape=(H, W)] bool
        Hair pixels over the forehead: their colours are the hair's.
    camera : Camera
        Maps ``vertices_m`` into the photo.
    vertices_m : np.ndarray [shape=(V, 3)]
        The head fitted to the photo, model frame.
    head : HeadRows
        Each row is read in the plane z = ``head.z_centre``, outward from the face's outline at
        its height, or from the neck's (the narrowest the ``head.body`` is below the face).
    """
    if forehead_hair.sum() < MIN_SAMPLES:
        return None
    like_hair = _hair_coloured(lab, not_skin, lab[forehead_hair])
    offsets = np.arange(0.0, REACH_M, SAMPLE_STEP_M)
    near = offsets < NEAR_M
    neck = _neck_half_width(vertices_m, head)
    gap = int(round(GAP_M / SAMPLE_STEP_M))
    rows, widths = [], []
    missing = np.zeros(2, int)
    y = head.top_y
    while missing.min() < MISSING_ROWS:
        band = head.body & (np.abs(vertices_m[:, 1] - y) < ROW_M)
        below_face = y < head.outline[:, 1].min()
        if not band.any() or (below_face and np.abs(vertices_m[band, 0]).max() > neck.max() + SHOULDER_M):
            break  # the shoulders: hair below lies on them, in front or behind
        row = np.full(2, np.nan)
        for k, side in enumerate((-1.0, 1.0)):
            if missing[k] >= MISSING_ROWS:
                continue
            start = max(_outline_half_width(head.outline, side, y), neck[k])
            flags = _sample(like_hair, camera, side * (start + offsets), y, head.z_centre)
            if flags[near].mean() >= NEAR_SHARE:
                row[k] = start + offsets[_last_before_gap(flags, gap)]
                missing[k] = 0
            else:
                missing[k] += 1
        rows.append(y)
        widths.append(row)
        y -= ROW_M
    if not rows:
        return None
    rows, widths = np.array(rows), np.array(widths)
    for k in range(2):  # a side's shorter hair lies on the head: it is painted there
        seen = ~np.isnan(widths[:, k])
        if not seen.any() or rows[seen][-1] > head.reach_y:
            widths[:, k] = np.nan
    for k in range(2):
        # Long hair falls on both sides far more often than the other side's hair goes unseen
        # (blond strands in the light come close to the skin's colour): mirror it.
        if np.isnan(widths[:, k]).all():
            widths[:, k] = widths[:, 1 - k]
    seen = ~np.isnan(widths).all(axis=1)
    if not seen.any():
        return None
    last = int(np.flatnonzero(seen)[-1]) + 1
    return HangingHair(rows[:last], widths[:last], float(head.z_centre))


def _outline_half_width(outline: np.ndarray, side: float, y: float) -> float:
    """The face outline's distance from the midline on ``side`` at height ``y`` (0 below it)."""
    points = outline[side * outline[:, 0] > 0.0]
    if not len(points) or y < points[:, 1].min():
        return 0.0
    order = np.argsort(points[:, 1])
    return float(np.interp(y, points[order, 1], side * points[order, 0]))


def _neck_half_width(vertices_m: np.ndarray, head: HeadRows) -> np.ndarray:
    """(2,) the narrowest the body is on each side below the face (its neck)."""
    below = head.body & (vertices_m[:, 1] < head.outline[:, 1].min())
    widths = []
    for side in (-1.0, 1.0):
        narrowest = np.inf
        for y in np.arange(head.outline[:, 1].min(), vertices_m[below, 1].min(), -ROW_M):
            band = below & (np.abs(vertices_m[:, 1] - y) < ROW_M)
            if band.any():
                narrowest = min(narrowest, float(np.max(side * vertices_m[band, 0])))
        widths.append(narrowest if np.isfinite(narrowest) else 0.0)
    return np.array(widths)


def _hair_coloured(lab: np.ndarray, not_skin: np.ndarray, hair_lab: np.ndarray) -> np.ndarray:
    """(H, W) bool: the ``not_skin`` pixels within ``HAIR_LIKENESS`` of the hair's colours
    ``hair_lab`` (N, 3), in their spread (Mahalanobis): the hair, not the clothes."""
    inverse = np.linalg.inv(np.cov(hair_lab.T) + SPREAD_FLOOR)
    centred = lab - hair_lab.mean(axis=0)
    like = not_skin & (np.einsum("hwi,ij,hwj->hw", centred, inverse, centred) < HAIR_LIKENESS ** 2)
    # The shadows and highlights between strands leave small holes: close them.
    return cv2.morphologyEx(like.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0


def _sample(mask: np.ndarray, camera: Camera, xs: np.ndarray, y: float, z: float) -> np.ndarray:
    """``mask`` at the photo's pixels of the points (xs, y, z); False outside the photo."""
    points = np.stack([xs, np.full_like(xs, y), np.full_like(xs, z)], axis=1)
    pixels, _ = camera.project(points)
    cols, rows = np.round(pixels[:, 0]).astype(int), np.round(pixels[:, 1]).astype(int)
    inside = (cols >= 0) & (cols < mask.shape[1]) & (rows >= 0) & (rows < mask.shape[0])
    flags = np.zeros(len(xs), bool)
    flags[inside] = mask[rows[inside], cols[inside]]
    return flags


def _last_before_gap(flags: np.ndarray, gap: int) -> int:
    """Index of the last True before the first run of ``gap`` Falses (or the last True)."""
    last, misses = 0, 0
    for i, flag in enumerate(flags):
        if flag:
            last, misses = i, 0
        else:
            misses += 1
            if misses >= gap:
                break
    return last


def hair_swatch(blend: np.ndarray, covered: np.ndarray) -> tuple[float, float, float] | None:
    """The largest UV square the texture paints hair on everywhere, as (u0, v0, side), or None.

    ``blend`` (S, S) is how much hair each texel was painted with (``hair.hair_blend``) and
    ``covered`` (S, S) which texels lie on the mesh: the square lies inside the covered texels
    painted fully (their islands' edges and the texture's border excluded).
    """
    size = blend.shape[0]
    inside = np.pad((blend >= 0.99) & covered, 1)
    distance = distance_transform_edt(inside)[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    half = int(distance[row, col] / np.sqrt(2.0)) - 1
    if 2 * half < MIN_SWATCH_TEXELS:
        return None
    return (col - half) / size, 1.0 - (row + half) / size, 2.0 * half / size


def hair_shell(vertices_m: np.ndarray, body: np.ndarray, hanging: HangingHair,
               swatch: tuple[float, float, float]) -> ShellMesh:
    """The hanging hair's shell around the rest head ``vertices_m`` (its ``body`` vertices)."""
    rows = len(hanging.rows_y)
    edges = np.zeros((rows, 2))
    back = np.zeros(rows)
    for r, y in enumerate(hanging.rows_y):
        band = body & (np.abs(vertices_m[:, 1] - y) < ROW_M)
        if band.any():
            edges[r] = [np.max(-vertices_m[band, 0]), np.max(vertices_m[band, 0])]
            back[r] = hanging.z_centre_m - np.min(vertices_m[band, 2])
        elif r:
            edges[r], back[r] = edges[r - 1], back[r - 1]
    clear = edges + MIN_CLEARANCE_M
    has_hair = ~np.isnan(hanging.half_width_m)
    width = np.where(has_hair, np.fmax(hanging.half_width_m, clear), clear)
    width[0] = clear[0]  # the first row starts against the head, inside the scalp's hair
    for r in range(1, rows):  # hair falls: it widens little from row to row
        width[r] = np.minimum(width[r], width[r - 1] + MAX_FLARE * ROW_M)
    width = np.maximum(_smooth_rows(width), clear)
    depth = np.maximum(_smooth_rows(np.maximum.accumulate(back)), back) + MIN_CLEARANCE_M
    front = np.radians(_smooth_rows(np.where(has_hair, FRONT_DEG, BACK_DEG)))
    grow = _enclosing_growth(vertices_m, body, hanging, width, depth)
    width, depth = width * grow[:, None], depth * grow

    t = np.linspace(0.0, 1.0, COLUMNS)
    theta = -front[:, :1] + t[None, :] * (front[:, :1] + front[:, 1:])  # (R, C), 0 at the back
    half = np.where(theta < 0.0, width[:, :1], width[:, 1:])
    layers = []
    for inset in (0.0, SHELL_THICKNESS_M):
        x = (half - inset) * np.sin(theta)
        z = hanging.z_centre_m - (depth[:, None] - inset) * np.cos(theta)
        y = np.broadcast_to(hanging.rows_y[:, None], x.shape)
        layers.append(np.stack([x, y, z], axis=-1).reshape(-1, 3))
    vertices = np.concatenate(layers)
    u0, v0, side = swatch
    uv = np.stack([u0 + side * np.broadcast_to(t[None, :], (rows, COLUMNS)),
                   v0 + side * np.broadcast_to(1.0 - np.arange(rows)[:, None] / max(rows - 1, 1),
                                               (rows, COLUMNS))], axis=-1).reshape(-1, 2)
    return ShellMesh(vertices, _slab_faces(vertices, rows, hanging.z_centre_m), np.tile(uv, (2, 1)))


def _enclosing_growth(vertices_m: np.ndarray, body: np.ndarray, hanging: HangingHair,
                      width: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(R,) how much each row's ellipse must grow for its inside to clear the head behind the
    ears by ``MIN_CLEARANCE_M - SHELL_THICKNESS_M`` (a head's section is squarer than an ellipse)."""
    inset = SHELL_THICKNESS_M + 0.5 * (MIN_CLEARANCE_M - SHELL_THICKNESS_M)
    grow = np.ones(len(hanging.rows_y))
    for r, y in enumerate(hanging.rows_y):
        band = body & (np.abs(vertices_m[:, 1] - y) < ROW_M) & (vertices_m[:, 2] < hanging.z_centre_m)
        if band.any():
            x, z = vertices_m[band, 0], vertices_m[band, 2] - hanging.z_centre_m
            half = np.where(x < 0.0, width[r, 0], width[r, 1]) - inset
            grow[r] = max(1.0, float(np.sqrt((x / half) ** 2 + (z / (depth[r] - inset)) ** 2).max()))
    return grow


def _smooth_rows(values: np.ndarray) -> np.ndarray:
    return uniform_filter1d(np.asarray(values, float), SMOOTH_ROWS, axis=0, mode="nearest")


def _slab_faces(vertices: np.ndarray, rows: int, z_centre: float) -> np.ndarray:
    """Triangles, consecutive pairs (a, b, c) + (a, c, d) of quads, of a two-layer grid
    (outer, then inner; rows x ``COLUMNS`` each) closed at its edges, all facing out of it."""
    def index(layer: int, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return layer * rows * COLUMNS + r * COLUMNS + c

    outer = vertices[:rows * COLUMNS].reshape(rows, COLUMNS, 3)
    r, c = (g.ravel() for g in np.meshgrid(np.arange(rows - 1), np.arange(COLUMNS - 1), indexing="ij"))
    radial = outer[r, c] * [1.0, 0.0, 1.0] - [0.0, 0.0, z_centre]
    groups = [(np.stack([index(layer, r, c), index(layer, r, c + 1), index(layer, r + 1, c + 1),
                         index(layer, r + 1, c)], axis=1), sign * radial) for layer, sign in ((0, 1.0), (1, -1.0))]
    rr = np.arange(rows - 1)
    for column, inward in ((0, 1), (COLUMNS - 1, COLUMNS - 2)):  # the front edges
        cc = np.full_like(rr, column)
        groups.append((np.stack([index(0, rr, cc), index(0, rr + 1, cc), index(1, rr + 1, cc),
                                 index(1, rr, cc)], axis=1), outer[rr, column] - outer[rr, inward]))
    cc = np.arange(COLUMNS - 1)
    for row, up in ((0, 1.0), (rows - 1, -1.0)):  # the top and bottom edges
        rr_edge = np.full_like(cc, row)
        groups.append((np.stack([index(0, rr_edge, cc), index(0, rr_edge, cc + 1),
                                 index(1, rr_edge, cc + 1), index(1, rr_edge, cc)], axis=1),
                       np.tile([0.0, up, 0.0], (len(cc), 1))))
    quads = np.concatenate([g[0] for g in groups])
    outward = np.concatenate([g[1] for g in groups])
    a, b, d = (vertices[quads[:, k]] for k in (0, 1, 3))
    flip = np.einsum("nd,nd->n", np.cross(b - a, d - a), outward) < 0.0
    quads[flip] = quads[flip][:, ::-1]
    return np.stack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]], axis=1).reshape(-1, 3).astype(np.int32)


def attach_shell(avatar: Avatar, shell: ShellMesh) -> Avatar:
    """``avatar`` with ``shell`` appended to its mesh as the region ``HAIR_REGION``: it moves
    with the head and no expression moves it; no strands grow on it (its hair weights are 0)."""
    count = avatar.vertex_count
    names = list(avatar.region_names)
    if HAIR_REGION not in names:
        names.append(HAIR_REGION)
    added = len(shell.vertices_m)
    polygons = avatar.polygon_triangles
    if polygons is None:
        polygons = np.ones(len(avatar.faces), np.uint8)
    hair_weights = avatar.hair_weights
    if hair_weights is not None:
        hair_weights = np.concatenate([hair_weights, np.zeros(added, np.float32)])
    return dataclasses.replace(
        avatar,
        vertices_m=np.concatenate([avatar.vertices_m, shell.vertices_m]).astype(np.float32),
        faces=np.concatenate([avatar.faces, shell.faces + count]).astype(np.int32),
        uvs=np.concatenate([avatar.uvs, shell.uvs]).astype(np.float32),
        uv_faces=np.concatenate([avatar.uv_faces, shell.faces + len(avatar.uvs)]).astype(np.int32),
        region_names=names,
        vertex_regions=np.concatenate([avatar.vertex_regions, np.full(
            added, names.index(HAIR_REGION), np.uint8)]),
        blendshape_deltas_m=np.concatenate([avatar.blendshape_deltas_m, np.zeros(
            (len(avatar.blendshape_names), added, 3), np.float32)], axis=1),
        polygon_triangles=np.concatenate([polygons, np.full(len(shell.faces) // 2, 2, np.uint8)]),
        hair_weights=hair_weights)
