"""Where each texel of a UV texture lies on the mesh: rasterization in UV space, surface points,
normals, texel size and the left-right mirror of each texel.

Texel (row, col) has its centre at u = (col + 0.5) / S, v = 1 - (row + 0.5) / S: row 0 is the top
of the image, v = 1 (the PNG convention of ``albedo.png``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from revive_core.geometry.mesh import vertex_normals
from revive_core.geometry.raster import rasterize

__all__ = ["UVLayout", "uv_layout", "mirror_texels"]


@dataclass
class UVLayout:
    """The texels a mesh's UV layout covers, and where on which triangle each one lies.

    Attributes
    ----------
    size : int
        Texture width and height in texels.
    rows, cols : np.ndarray [shape=(N,)] int
        The covered texels.
    faces : np.ndarray [shape=(N,)] int
        The triangle under each covered texel.
    bary : np.ndarray [shape=(N, 3)] float64
        Barycentric weights of the texel centre in that triangle.
    """

    size: int
    rows: np.ndarray
    cols: np.ndarray
    faces: np.ndarray
    bary: np.ndarray

    @property
    def covered(self) -> np.ndarray:
        """(S, S) bool: texels that lie on the mesh."""
        mask = np.zeros((self.size, self.size), dtype=bool)
        mask[self.rows, self.cols] = True
        return mask

    def points(self, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(N, 3) surface point of each covered texel on ``vertices`` (V, 3)."""
        return np.einsum("nk,nkd->nd", self.bary, vertices[faces[self.faces]])

    def normals(self, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(N, 3) unit smooth normal of each covered texel (vertex normals interpolated)."""
        corners = vertex_normals(vertices, faces)[faces[self.faces]]
        interpolated = np.einsum("nk,nkd->nd", self.bary, corners)
        return interpolated / (np.linalg.norm(interpolated, axis=1, keepdims=True) + 1e-12)

    def texel_size_m(self, vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray,
                     uv_faces: np.ndarray) -> np.ndarray:
        """(N,) edge length in metres of the surface patch one texel covers."""
        corners = vertices[faces]
        area_m2 = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0],
                                                corners[:, 2] - corners[:, 0]), axis=1)
        uv = uvs[uv_faces] * self.size
        area_px = 0.5 * np.abs((uv[:, 1, 0] - uv[:, 0, 0]) * (uv[:, 2, 1] - uv[:, 0, 1])
                               - (uv[:, 2, 0] - uv[:, 0, 0]) * (uv[:, 1, 1] - uv[:, 0, 1]))
        return np.sqrt(area_m2 / np.maximum(area_px, 1e-12))[self.faces]

    def scatter(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """An (S, S, ...) image holding ``values`` (N, ...) at the covered texels."""
        image = np.full((self.size, self.size) + values.shape[1:], fill, dtype=values.dtype)
        image[self.rows, self.cols] = values
        return image


def uv_layout(uvs: np.ndarray, uv_faces: np.ndarray, size: int, *,
              faces: np.ndarray | None = None, vertices_m: np.ndarray | None = None) -> UVLayout:
    """Rasterize UV triangles ``uv_faces`` (F, 3) over ``uvs`` (T, 2), ``size`` texels a side.

    Where UV islands overlap (an eyeball's back under its front, two eyes sharing one island),
    a texel belongs to the front-most surface (largest z of ``vertices_m`` (V, 3) through
    ``faces`` (F, 3)), the one a viewer sees; without them, the last triangle.
    """
    uv_px = np.stack([uvs[:, 0] * size, (1.0 - uvs[:, 1]) * size], 1)
    depth = None
    if faces is not None and vertices_m is not None:
        depth = np.zeros(len(uvs))
        depth[np.asarray(uv_faces).ravel()] = -np.asarray(vertices_m)[np.asarray(faces).ravel(), 2]
    face_id, bary, _ = rasterize(uv_px, uv_faces, (size, size), depth=depth)
    rows, cols = np.nonzero(face_id >= 0)
    return UVLayout(size, rows, cols, face_id[rows, cols].astype(np.int64),
                    bary[rows, cols].astype(np.float64))


def mirror_texels(points_m: np.ndarray, candidates: np.ndarray, *,
                  max_distance_m: float = 0.004) -> np.ndarray:
    """For each texel, the texel at its left-right mirror image on the surface, or -1.

    Parameters
    ----------
    points_m : np.ndarray [shape=(N, 3)]
        Surface points of the texels on a symmetric rest shape (x = 0 is the mirror plane).
    candidates : np.ndarray [shape=(N,)] bool
        Texels that may serve as mirror images (e.g. only skin).
    max_distance_m : float
        A mirror image further than this from any candidate texel counts as missing.

    Returns
    -------
    np.ndarray [shape=(N,)] int64, index into the texels, -1 where there is none
    """
    index = np.flatnonzero(candidates)
    mirrored = points_m * np.array([-1.0, 1.0, 1.0])
    if len(index) == 0:
        return np.full(len(points_m), -1, dtype=np.int64)
    # The bound matters for speed: without it, each texel with no mirror image nearby (an eye,
    # the inside of the mouth) searches the whole tree.
    distance, nearest = cKDTree(points_m[index]).query(mirrored, k=1, workers=-1,
                                                       distance_upper_bound=max_distance_m)
    found = np.isfinite(distance)
    return np.where(found, index[np.minimum(nearest, len(index) - 1)], -1).astype(np.int64)
