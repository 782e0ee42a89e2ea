"""Fuse several photos' texels into one texture, and fill holes smoothly.

- ``weighted_average``: the naive fusion, each photo weighted by its confidence squared.
- ``equalise_colours``: per-photo colour gains that make photos agree where they overlap
  (different cameras, white balance and exposure).
- ``blend_views``: the best-seen photo wins each texel; the seams between photos are blended
  band by band (Burt & Adelson's multi-band blending), so no step and no ghosting.
- ``pull_push``: fills unknown texels from a pyramid of known ones (Gortler et al. 1996).
- ``surface_fill``: the same on the head's surface instead of the texture: a pull-push over a
  3D voxel pyramid, so a fill crosses UV seams (the back of the head is its own UV island) and
  never takes colour from a neighbouring island in the atlas (teeth next to the scalp).
- ``fill_unseen``: keeps well-seen texels, fills the rest over the surface, and mixes the two
  where the photos saw a texel only poorly (grazing angles, the silhouette).
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import map_coordinates

__all__ = ["weighted_average", "equalise_colours", "blend_views", "pull_push", "surface_fill",
           "surface_smooth", "trusted_level", "fill_unseen"]

MIN_OVERLAP_TEXELS = 200
TRUSTED_FRACTION = 0.3  # of the best-seen skin's confidence: at and above it a texel is trusted
VOXEL_M = 0.004  # finest cell of the surface fill


def weighted_average(colours: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confidence-squared weighted mean of K photos' colours (K, N, 3) -> (N, 3), and (N,) best."""
    weights = confidence ** 2
    total = weights.sum(0)
    mean = (colours * weights[..., None]).sum(0) / np.maximum(total, 1e-12)[:, None]
    return mean, confidence.max(0)


def equalise_colours(colours: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Per-photo RGB gains (K, 3) that match each photo to the best-covering one.

    The gain of photo k is the median ratio of the reference's colours to its own over the
    texels both see well; photos that overlap too little keep gain 1.
    """
    views = len(colours)
    gains = np.ones((views, 3))
    reference = int(np.argmax(confidence.sum(1)))
    for k in range(views):
        both = (confidence[k] > 0.3) & (confidence[reference] > 0.3)
        if k == reference or both.sum() < MIN_OVERLAP_TEXELS:
            continue
        ratio = colours[reference][both] / np.maximum(colours[k][both], 1e-4)
        gains[k] = np.clip(np.median(ratio, axis=0), 0.5, 2.0)
    return gains


def blend_views(images: np.ndarray, confidence: np.ndarray, *, levels: int = 5) -> np.ndarray:
    """Multi-band blend of K filled images (K, S, S, 3) where each texel's best photo wins.

    Parameters
    ----------
    images : np.ndarray [shape=(K, S, S, 3)]
        Each photo's texture, with its unseen texels already filled (``pull_push``), so the
        coarse bands blend smoothly across the seams.
    confidence : np.ndarray [shape=(K, S, S)]
        Each photo's confidence per texel.
    levels : int
        Pyramid levels; seams are feathered over about 2**levels texels at the lowest band.
    """
    if len(images) == 1:
        return images[0]
    best = np.argmax(confidence, axis=0)
    masks = np.stack([(best == k).astype(np.float32) for k in range(len(images))])
    result = None
    for image, mask in zip(images.astype(np.float32), masks):
        bands = _laplacian_pyramid(image, levels)
        weights = _gaussian_pyramid(mask, levels)
        blended = [b * w[..., None] for b, w in zip(bands, weights)]
        result = blended if result is None else [r + b for r, b in zip(result, blended)]
    out = result[-1]
    for band in reversed(result[:-1]):
        out = cv2.pyrUp(out, dstsize=band.shape[1::-1]) + band
    return out.astype(np.float64)


def pull_push(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill texels where ``known`` (S, S) is 0 from a pyramid of the known ones.

    Smooth and seamless: each missing texel takes the average of the known texels around it,
    at the finest scale where there are some.
    """
    known = known.astype(np.float64)
    if known.all() or not known.any():
        return image
    height, width = known.shape
    if min(height, width) <= 2:
        mean = (image * known[..., None]).sum((0, 1)) / known.sum()
        return np.where(known[..., None] > 0, image, mean)
    h2, w2 = (height + 1) // 2, (width + 1) // 2
    padded_w = np.zeros((h2 * 2, w2 * 2))
    padded_i = np.zeros((h2 * 2, w2 * 2, image.shape[2]))
    padded_w[:height, :width] = known
    padded_i[:height, :width] = image * known[..., None]
    small_w = padded_w.reshape(h2, 2, w2, 2).sum((1, 3))
    small_i = padded_i.reshape(h2, 2, w2, 2, -1).sum((1, 3))
    small = pull_push(small_i / np.maximum(small_w, 1e-9)[..., None], (small_w > 0).astype(float))
    up = cv2.resize(small.astype(np.float32), (w2 * 2, h2 * 2),
                    interpolation=cv2.INTER_LINEAR)[:height, :width].astype(np.float64)
    if up.ndim == 2:
        up = up[..., None]
    return np.where(known[..., None] > 0, image, up)


def trusted_level(confidence: np.ndarray, mask: np.ndarray) -> float:
    """The confidence from which a texel counts as well seen (relative to the photos' best).

    Relative, because confidence also reflects the photos' resolution: with small photos every
    texel's confidence is low, yet the best-seen ones are still the best information there is.
    """
    seen = confidence[mask & (confidence > 0)]
    return TRUSTED_FRACTION * float(np.percentile(seen, 95)) if seen.size else 1.0


def fill_unseen(values: np.ndarray, confidence: np.ndarray, level: float,
                points_m: np.ndarray) -> np.ndarray:
    """Texel ``values`` (N, C) where ``confidence`` (N,) >= ``level``, a surface fill where it
    is 0, and a mix in between (by confidence / level). ``points_m`` (N, 3): texels on the head."""
    filled = surface_fill(values, confidence >= level, points_m)
    alpha = np.clip(confidence / level, 0.0, 1.0)[:, None]
    return alpha * values + (1.0 - alpha) * filled


def surface_fill(values: np.ndarray, known: np.ndarray, points_m: np.ndarray, *,
                 voxel_m: float = VOXEL_M) -> np.ndarray:
    """Texel values (N, C) with the unknown ones filled smoothly from the known, over the surface.

    Parameters
    ----------
    values : np.ndarray [shape=(N, C)]
    known : np.ndarray [shape=(N,)] bool
    points_m : np.ndarray [shape=(N, 3)]
        Each texel's point on the head, metres.
    voxel_m : float
        The finest cell; detail below it is not carried into the fill.
    """
    if known.all() or not known.any():
        return values
    grid, origin = _voxel_grid(values[known], points_m[known], points_m, voxel_m)
    filled = _read_grid(_pull_push_3d(*grid), (points_m - origin) / voxel_m)
    return np.where(known[:, None], values, filled)


def surface_smooth(values: np.ndarray, points_m: np.ndarray, *, voxel_m: float) -> np.ndarray:
    """Texel values (N, C) averaged over cells of ``voxel_m`` on the surface: a low-pass."""
    (sums, weights), origin = _voxel_grid(values, points_m, points_m, voxel_m)
    return _read_grid(_pull_push_3d(sums, weights), (points_m - origin) / voxel_m)


def _voxel_grid(values: np.ndarray, points: np.ndarray, extent: np.ndarray, voxel_m: float):
    """Sums (X, Y, Z, C) and counts (X, Y, Z) of ``values`` binned by ``points``; the origin."""
    origin = extent.min(0) - voxel_m
    shape = tuple(np.ceil((extent.max(0) - origin) / voxel_m).astype(int) + 2)
    cell = np.floor((points - origin) / voxel_m + 0.5).astype(int)  # nearest grid node
    flat = np.ravel_multi_index(cell.T, shape)
    size = int(np.prod(shape))
    weights = np.bincount(flat, minlength=size).astype(np.float64)
    sums = np.stack([np.bincount(flat, values[:, c], minlength=size)
                     for c in range(values.shape[1])], -1)
    return (sums.reshape(shape + (-1,)), weights.reshape(shape)), origin


def _pull_push_3d(sums: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean values (X, Y, Z, C) on every cell: known cells' means, the rest from coarser cells."""
    known = weights > 0
    mean = sums / np.maximum(weights, 1e-12)[..., None]
    if known.all() or min(weights.shape) <= 2:
        fallback = sums.reshape(-1, sums.shape[-1]).sum(0) / max(weights.sum(), 1e-12)
        return np.where(known[..., None], mean, fallback)
    pad = [(0, n % 2) for n in weights.shape]
    s = np.pad(sums, pad + [(0, 0)])
    w = np.pad(weights, pad)
    half = tuple(n // 2 for n in w.shape)
    coarse_sums = s.reshape(half[0], 2, half[1], 2, half[2], 2, -1).sum((1, 3, 5))
    coarse_weights = w.reshape(half[0], 2, half[1], 2, half[2], 2).sum((1, 3, 5))
    coarse = _pull_push_3d(coarse_sums, coarse_weights)
    # Trilinear upsampling: fine node i sits at coarse coordinate (i - 0.5) / 2.
    axes = [np.clip((np.arange(n) - 0.5) / 2.0, 0, m - 1) for n, m in zip(weights.shape, half)]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"), 0).reshape(3, -1)
    up = np.stack([map_coordinates(coarse[..., c], coords, order=1, mode="nearest")
                   for c in range(coarse.shape[-1])], -1).reshape(weights.shape + (-1,))
    return np.where(known[..., None], mean, up)


def _read_grid(grid: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Trilinear samples (N, C) of ``grid`` (X, Y, Z, C) at cell coordinates (N, 3)."""
    return np.stack([map_coordinates(grid[..., c], coords.T, order=1, mode="nearest")
                     for c in range(grid.shape[-1])], -1)


def _gaussian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    pyramid = [image]
    for _ in range(levels):
        pyramid.append(cv2.pyrDown(pyramid[-1]))
    return pyramid


def _laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    gaussian = _gaussian_pyramid(image, levels)
    bands = [g - cv2.pyrUp(coarser, dstsize=g.shape[1::-1])
             for g, coarser in zip(gaussian[:-1], gaussian[1:])]
    return bands + [gaussian[-1]]
