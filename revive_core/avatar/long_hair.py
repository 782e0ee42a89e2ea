"""Long hair: a hair shell from the crown down to the hair's ends, shaped by the hair the photo
shows beside the face and neck, and textured from it.

The scalp's hair volume (``hair.grow_hair``) cannot reach past the ears: hair that falls to the
jaw or the shoulders would otherwise only be painted on the cheeks, the neck and the bust. Here,
row by row down the head (every ``ROW_M``, starting at the eyes), each side of the photo is read
outward from the face's outline (or the neck's, below the jaw): where it shows hair (pixels of
the person not of the skin's colour and of the colours of the hair over the forehead), the
hair's outer edge is that row's half-width on that side. A side whose hair reaches below the
mouth has long hair (shorter side hair lies on the head and is painted there); long hair seen on
one side only is taken to fall on both. The rows end at the shoulders: hair lying on them stays
painted on the bust.

The shell is a slab ``SHELL_THICKNESS_M`` thick, open toward the face: each row is an arc of an
ellipse about the vertical axis through the ears, from one side's front edge around the back of
the head to the other's. From the crown to the eyes it lies inside the scalp's hair and rises
out of it; below, it falls straight from the head's widest point (it does not follow the neck
in), stands out as far as the photo shows (``MAX_FLARE`` more per row at most), never closer to
the head than ``MIN_CLEARANCE_M``, and curls in to the neck over its last ``CURL_ROWS`` rows.

The shell's UVs fill a tile of the avatar's texture, its rows running down the tile, so the
hair's grain streaks along it. ``make_room_for_hair`` makes the tile: it squeezes the teeth's UV
block (their texture is flat ivory) into its lower half, and the upper half becomes the hair's.
``sample_shell`` reads the photo's hair on the tile and ``paint_shell`` paints it: the photo
where the photo sees that part of the shell, and the colour of the lit strands it sees there,
with a grain, elsewhere (the head's painted hair takes that colour too). A model without a teeth
block of its own has no tile: the shell then shows a square of the head's painted hair
(``hair_swatch``).

Functions
---------
measure_hanging_hair  photo + fitted head -> HangingHair (half-width per row and side), or None
make_room_for_hair    face model -> the model with a texture tile for the shell (``hair_tile``)
hair_swatch           hair blend of the texture -> a UV square painted hair everywhere
hair_shell            rest head + HangingHair + UV rectangle -> the shell's mesh (ShellMesh)
sample_shell          shell + photo -> the photo's hair on the shell's tile (ShellPhoto)
paint_shell           albedo + ShellPhoto -> the albedo with the shell's tile painted
hair_grain            the painted hair's strand-like grain
lit_strands_colour    hair pixels -> the colour of their lit strands
attach_shell          Avatar + ShellMesh -> the Avatar with the shell as its "hair" region
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt, median_filter, uniform_filter1d

from revive_core.avatar.model.morphable import MorphableModel
from revive_core.formats import Avatar
from revive_core.geometry.camera import Camera
from revive_core.geometry.mesh import vertex_normals
from revive_core.geometry.raster import facing_faces, rasterize

__all__ = ["HAIR_REGION", "HangingHair", "HeadRows", "ShellMesh", "ShellPhoto", "ShellView",
           "attach_shell", "hair_grain", "hair_shell", "hair_swatch", "hair_tile",
           "lit_strands_colour", "make_room_for_hair", "measure_hanging_hair", "paint_shell",
           "sample_shell"]

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
MAX_FLARE = 0.4  # the most the hair stands out farther per height (hair lying on the shoulders,
# or a collar read as hair, would make it flare)
RISE_ROWS = 2  # the top row lies BURIED_M inside the head; the shell is out of it by the eyes, or
BURIED_M = 0.004  # this many rows on
CURL_ROWS = 3  # over its last rows the hair curls in to MIN_CLEARANCE_M from the neck
SMOOTH_ROWS = 5  # the half-widths, depths and edges are averaged over this many rows
COLUMNS = 33  # vertices across each row of the shell
MIN_SWATCH_TEXELS = 6
LIT_STRANDS = (40.0, 80.0)  # lightness percentiles of the hair pixels that give its colour
MIN_SEEN_TEXELS = 200  # the tile's colour is the photo's hair when it sees this many texels
TILE_KEY = "hair_tile"  # in a model's info: the shell's UV rectangle (u0, v0, width, height)
TILE_PADDING = 0.004  # UV: about 4 texels at 1024, so filtering never mixes teeth into hair
DEPTH_TOLERANCE_M = 0.004  # a shell point this near the nearest surface is seen by the photo
# The shell turned this far from the camera (cosine) shows the photo's hair smeared along it;
# from FACING_LOW to FACING_HIGH the photo fades in.
FACING_LOW, FACING_HIGH = 0.3, 0.6
FEATHER_TEXELS = 1.5  # the photo's hair fades into the painted hair over about this


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
    mask: np.ndarray | None = None  # (H, W) bool: where the photo's hair may be (not the face)

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
    return HangingHair(rows[:last], widths[:last], float(head.z_centre), mask=like_hair)


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
    if not below.any():  # a model whose body ends at the jaw (the built-in one's neck is apart)
        return np.zeros(2)
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


def make_room_for_hair(model: MorphableModel) -> MorphableModel:
    """``model`` with a tile of its texture free for the hair shell (``hair_tile``), or
    ``model`` itself when its teeth do not have a UV block of their own to share.

    The teeth's UV block is squeezed into its lower half (teeth are ivory: their texture has
    no detail to lose) and the upper half, less ``TILE_PADDING``, becomes the tile.
    """
    if TILE_KEY in model.info:
        return model
    face_regions = model.vertex_regions[model.faces].max(axis=1)
    teeth = np.isin(face_regions, [i for i, name in enumerate(model.region_names)
                                   if "teeth" in name.lower() or "tooth" in name.lower()])
    if not teeth.any():
        return model
    ids = np.unique(model.uv_faces[teeth])
    if np.intersect1d(ids, model.uv_faces[~teeth]).size:
        return model
    low, high = model.uvs[ids].min(axis=0), model.uvs[ids].max(axis=0)
    others = model.uvs[model.uv_faces[~teeth]]
    if ((others.max(axis=1) > low) & (others.min(axis=1) < high)).all(axis=1).any():
        return model
    uvs = model.uvs.copy()
    uvs[ids, 1] = low[1] + 0.5 * (uvs[ids, 1] - low[1])
    middle = 0.5 * (low[1] + high[1])
    tile = (low[0] + TILE_PADDING, middle + TILE_PADDING, high[0] - low[0] - 2 * TILE_PADDING,
            high[1] - middle - 2 * TILE_PADDING)
    return dataclasses.replace(model, uvs=uvs, info={**model.info, TILE_KEY: [float(x) for x in tile]})


def hair_tile(model: MorphableModel) -> tuple[float, float, float, float] | None:
    """The model's UV rectangle for the hair shell (``make_room_for_hair``), or None."""
    tile = model.info.get(TILE_KEY)
    return None if tile is None else tuple(tile)


def hair_swatch(blend: np.ndarray, covered: np.ndarray) -> tuple[float, float, float, float] | None:
    """The largest UV square the texture paints hair on everywhere, as (u0, v0, side, side), or
    None.

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
    side = 2.0 * half / size
    return (col - half) / size, 1.0 - (row + half) / size, side, side


def hair_shell(vertices_m: np.ndarray, body: np.ndarray, hanging: HangingHair,
               rect: tuple[float, float, float, float]) -> ShellMesh:
    """The hanging hair's shell around the rest head ``vertices_m`` (its ``body`` vertices), its
    UVs filling ``rect`` (u0, v0, width, height): around the head along u, down it along -v.

    Above the photo's first row (the eyes) it goes on up to the crown, inside the scalp's hair
    there and rising out of it toward the eyes, so the hanging hair grows out of the head's."""
    above = int((vertices_m[body, 1].max() - ROW_M - hanging.rows_y[0]) // ROW_M)
    rows_y = np.concatenate([hanging.rows_y[0] + ROW_M * np.arange(above, 0, -1), hanging.rows_y])
    half_width = np.concatenate([np.full((above, 2), np.nan), _bridged(hanging.half_width_m)])
    rows = len(rows_y)
    edges = np.zeros((rows, 2))
    back = np.zeros(rows)
    for r, y in enumerate(rows_y):
        band = body & (np.abs(vertices_m[:, 1] - y) < ROW_M)
        if band.any():
            edges[r] = [np.max(-vertices_m[band, 0]), np.max(vertices_m[band, 0])]
            back[r] = hanging.z_centre_m - np.min(vertices_m[band, 2])
        elif r:
            edges[r], back[r] = edges[r - 1], back[r - 1]
    clear = edges + MIN_CLEARANCE_M
    has_hair = ~np.isnan(half_width)
    has_hair[:above] = has_hair[above]
    # Hair falls straight from the widest the head is above (it does not follow the neck in),
    # and stands out from there only a little more row by row.
    falls = clear.copy()
    falls[above:] = np.maximum.accumulate(clear[above:], axis=0)
    falls = np.where(has_hair, falls, clear)
    excess = np.where(~np.isnan(half_width), np.fmax(half_width - falls, 0.0), 0.0)
    for r in range(1, rows):
        excess[r] = np.minimum(excess[r], excess[r - 1] + MAX_FLARE * ROW_M)
    width = falls + _smooth_rows(excess)
    depth = np.maximum(_smooth_rows(np.maximum.accumulate(back)), back) + MIN_CLEARANCE_M
    front = np.radians(_smooth_rows(np.where(has_hair, FRONT_DEG, BACK_DEG)))
    # The ends: the last rows curl in to the neck, the first ones rise out of the scalp's hair.
    curl = np.clip((rows - 1 - np.arange(rows)) / CURL_ROWS, 0.0, 1.0)[:, None]
    width = clear + curl * (width - clear)
    grow = _enclosing_growth(vertices_m, body, rows_y, hanging.z_centre_m, width, depth)
    width, depth = width * grow[:, None], depth * grow
    rise = np.clip(np.arange(rows) / max(above, RISE_ROWS), 0.0, 1.0)[:, None]
    width = edges - BURIED_M + rise * (width - edges + BURIED_M)
    depth = back - BURIED_M + rise[:, 0] * (depth - back + BURIED_M)

    t = np.linspace(0.0, 1.0, COLUMNS)
    theta = -front[:, :1] + t[None, :] * (front[:, :1] + front[:, 1:])  # (R, C), 0 at the back
    half = np.where(theta < 0.0, width[:, :1], width[:, 1:])
    layers = []
    for inset in (0.0, SHELL_THICKNESS_M):
        x = (half - inset) * np.sin(theta)
        z = hanging.z_centre_m - (depth[:, None] - inset) * np.cos(theta)
        y = np.broadcast_to(rows_y[:, None], x.shape)
        layers.append(np.stack([x, y, z], axis=-1).reshape(-1, 3))
    vertices = np.concatenate(layers)
    u0, v0, width_uv, height_uv = rect
    uv = np.stack([u0 + width_uv * np.broadcast_to(t[None, :], (rows, COLUMNS)),
                   v0 + height_uv * np.broadcast_to(1.0 - np.arange(rows)[:, None] / max(rows - 1, 1),
                                                    (rows, COLUMNS))], axis=-1).reshape(-1, 2)
    return ShellMesh(vertices, _slab_faces(vertices, rows, hanging.z_centre_m), np.tile(uv, (2, 1)))


def _enclosing_growth(vertices_m: np.ndarray, body: np.ndarray, rows_y: np.ndarray, z_centre: float,
                      width: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(R,) how much each row's ellipse must grow for its inside to clear the head behind the
    ears by ``MIN_CLEARANCE_M - SHELL_THICKNESS_M`` (a head's section is squarer than an ellipse)."""
    inset = SHELL_THICKNESS_M + 0.5 * (MIN_CLEARANCE_M - SHELL_THICKNESS_M)
    grow = np.ones(len(rows_y))
    for r, y in enumerate(rows_y):
        band = body & (np.abs(vertices_m[:, 1] - y) < ROW_M) & (vertices_m[:, 2] < z_centre)
        if band.any():
            x, z = vertices_m[band, 0], vertices_m[band, 2] - z_centre
            half = np.where(x < 0.0, width[r, 0], width[r, 1]) - inset
            grow[r] = max(1.0, float(np.sqrt((x / half) ** 2 + (z / (depth[r] - inset)) ** 2).max()))
    return grow


def _bridged(half_width: np.ndarray) -> np.ndarray:
    """(R, 2) half-widths with the rows missing between a side's first and last hair rows
    interpolated, and lone rows out of line with their neighbours put back in line (median of
    three): a row the measure missed or cut short (a gap between strands) is not a row without
    hair, and snapping the shell in to the head there stripes it with ridges."""
    bridged = np.array(half_width, dtype=np.float64)
    for side in bridged.T:
        rows = np.flatnonzero(~np.isnan(side))
        if len(rows) > 1:
            span = np.arange(rows[0], rows[-1] + 1)
            side[span] = median_filter(np.interp(span, rows, side[rows]), size=3, mode="nearest")
    return bridged


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


@dataclass
class ShellView:
    """The photo the shell's tile is painted from, and the head it sees."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    camera: Camera
    head_vertices_m: np.ndarray  # (V, 3): the head as fitted to the photo
    head_faces: np.ndarray  # (F, 3)
    hair_mask: np.ndarray  # (H, W) bool: where the hair may be (``HangingHair.mask``)


@dataclass
class ShellPhoto:
    """What the photo shows of the shell, texel by texel of its tile (``sample_shell``)."""

    rows: np.ndarray  # (R,) texture rows of the tile
    cols: np.ndarray  # (C,) texture columns of the tile
    colours: np.ndarray  # (R, C, 3) sRGB 0..1: the photo's, or its nearest seen texel's
    weight: np.ndarray  # (R, C, 1) 0..1: how much of the photo each texel takes
    strands_colour: np.ndarray | None  # (3,) its lit strands' colour, when it sees enough


def sample_shell(size: int, rect: tuple[float, float, float, float], shell: ShellMesh,
                 view: ShellView) -> ShellPhoto | None:
    """The photo's hair on the shell's tile ``rect`` of a ``size`` texture: where the photo
    sees that point of the shell (either layer) within ``view.hair_mask``, its colour, trusted
    as the shell faces the photo; None when the tile has no texel."""
    u0, v0, width_uv, height_uv = rect
    cols = np.arange(int(np.ceil(u0 * size)), int(np.floor((u0 + width_uv) * size)))
    rows = np.arange(int(np.ceil((1.0 - v0 - height_uv) * size)), int(np.floor((1.0 - v0) * size)))
    if not len(cols) or not len(rows):
        return None
    grid_rows = len(shell.vertices_m) // (2 * COLUMNS)
    across = np.clip(((cols + 0.5) / size - u0) / width_uv, 0.0, 1.0) * (COLUMNS - 1)
    down = np.clip(((rows + 0.5) / size - (1.0 - v0 - height_uv)) / height_uv, 0.0, 1.0) * (grid_rows - 1)
    down, across = (g.ravel() for g in np.meshgrid(down, across, indexing="ij"))
    layers = shell.vertices_m.reshape(2, grid_rows, COLUMNS, 3)
    camera = view.camera
    everything = np.concatenate([view.head_vertices_m, shell.vertices_m])
    faces = np.concatenate([view.head_faces, shell.faces + len(view.head_vertices_m)])
    vertex_px, vertex_depth = camera.project(everything)
    _, _, zbuffer = rasterize(vertex_px, facing_faces(faces, vertex_px),
                              (camera.width, camera.height), depth=vertex_depth)
    photo = np.zeros((len(down), 3))
    seen = np.zeros(len(down), bool)
    trust = np.zeros(len(down))
    layer_normals = vertex_normals(shell.vertices_m, shell.faces).reshape(layers.shape)
    for layer, normals in zip(layers, layer_normals):
        points = _grid_points(layer, down, across)
        pixels, depth = camera.project(points)
        col, row = np.round(pixels[:, 0]).astype(int), np.round(pixels[:, 1]).astype(int)
        inside = (col >= 0) & (col < camera.width) & (row >= 0) & (row < camera.height) & (depth > 0)
        facing = _facing(_grid_points(normals, down, across), points, camera)
        visible = np.zeros(len(down), bool)
        visible[inside] = ((depth[inside] <= zbuffer[row[inside], col[inside]] + DEPTH_TOLERANCE_M)
                           & view.hair_mask[row[inside], col[inside]])
        visible &= facing > FACING_LOW
        new = visible & ~seen
        photo[new] = view.image[row[new], col[new]] / 255.0
        trust[new] = np.clip((facing[new] - FACING_LOW) / (FACING_HIGH - FACING_LOW), 0.0, 1.0)
        seen |= visible
    shape = (len(rows), len(cols))
    seen, colours, trust = seen.reshape(shape), photo.reshape(*shape, 3), trust.reshape(shape)
    # Texels the depth test missed between seen ones (a rounding at a triangle's edge) take
    # their nearest seen neighbour's colour.
    closed = cv2.morphologyEx(seen.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0
    if seen.any():
        nearest = distance_transform_edt(~seen, return_distances=False, return_indices=True)
        colours = colours[nearest[0], nearest[1]]
    weight = cv2.GaussianBlur(closed.astype(np.float32), (0, 0), FEATHER_TEXELS)
    weight = np.minimum(weight, closed) * cv2.GaussianBlur(trust.astype(np.float32), (0, 0),
                                                           FEATHER_TEXELS)
    strands_colour = None
    if seen.sum() >= MIN_SEEN_TEXELS:
        strands = colours[seen].astype(np.float32)
        lightness = cv2.cvtColor(strands[:, None, :], cv2.COLOR_RGB2LAB)[:, 0, 0]
        strands_colour = lit_strands_colour(strands, lightness)
    return ShellPhoto(rows, cols, colours, weight[..., None], strands_colour)


def paint_shell(albedo: np.ndarray, photo: ShellPhoto, *, colour: np.ndarray,
                seed: int = 0) -> np.ndarray:
    """``albedo`` (S, S, 3) uint8 with the shell's tile painted: the photo's hair where
    ``photo`` trusts it, feathered into a colour with the hair's grain (``hair_grain``)
    elsewhere. The colour is that of the lit strands the photo shows on the shell, or
    ``colour`` (sRGB 0..1) where it shows too few: a headband or a dark parting over the
    forehead must not colour long fair hair."""
    size = albedo.shape[0]
    rows, cols = photo.rows, photo.cols
    if photo.strands_colour is not None:
        colour = photo.strands_colour
    base = colour[None, None, :] * hair_grain(size, seed)[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1, None]
    tile = np.clip(np.round((base * (1.0 - photo.weight) + photo.colours * photo.weight) * 255.0),
                   0, 255).astype(np.uint8)
    # Its edge repeated into the padding: filtering at the tile's border must not fetch the
    # texels beyond it (a pale line along the hair's outline).
    margin = min(max(int(TILE_PADDING * size) - 1, 0), rows[0], cols[0], size - 1 - rows[-1],
                 size - 1 - cols[-1])
    out = albedo.copy()
    out[rows[0] - margin:rows[-1] + 1 + margin, cols[0] - margin:cols[-1] + 1 + margin] = np.pad(
        tile, ((margin, margin), (margin, margin), (0, 0)), mode="edge")
    return out


def hair_grain(size: int, seed: int) -> np.ndarray:
    """(S, S) about 1: a fine grain streaked along the texture's columns, with soft darker
    clumps; the hair's colour times it is the painted hair."""
    rng = np.random.default_rng(seed)
    fine = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0),
                            sigmaX=0.6, sigmaY=3.0)
    clumps = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 6.0)
    return 1.0 + 0.9 * fine / (fine.std() + 1e-6) * 0.12 + clumps / (clumps.std() + 1e-6) * 0.08


def lit_strands_colour(colours: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    """(3,) the median of the hair colours (N, 3) whose lightness lies between the
    ``LIT_STRANDS`` percentiles: the lit strands, not the shadows between them (a median over
    those made blond hair mousy), nor the sheen's highlights."""
    low, high = np.percentile(lightness, LIT_STRANDS)
    lit = (lightness >= low) & (lightness <= high)
    return np.median(colours[lit], axis=0)


def _facing(normals: np.ndarray, points_m: np.ndarray, camera) -> np.ndarray:
    """(N,) |cosine| between each point's normal (N, 3) and its line of sight to ``camera``
    (either side of the slab may face the photo)."""
    normals = normals @ camera.matrix.T
    to_camera = -camera.to_camera(points_m)
    to_camera /= np.linalg.norm(to_camera, axis=1, keepdims=True) + 1e-12
    return np.abs((normals * to_camera).sum(1)) / (np.linalg.norm(normals, axis=1) + 1e-12)


def _grid_points(layer: np.ndarray, down: np.ndarray, across: np.ndarray) -> np.ndarray:
    """(N, 3) points of a (R, C, 3) grid at fractional (row, column) positions, bilinearly."""
    r0 = np.clip(np.floor(down).astype(int), 0, layer.shape[0] - 2)
    c0 = np.clip(np.floor(across).astype(int), 0, layer.shape[1] - 2)
    fr, fc = (down - r0)[:, None], (across - c0)[:, None]
    return ((1 - fr) * ((1 - fc) * layer[r0, c0] + fc * layer[r0, c0 + 1])
            + fr * ((1 - fc) * layer[r0 + 1, c0] + fc * layer[r0 + 1, c0 + 1]))


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
