"""Refine a fit to several photos by explaining how the skin looks in each (analysis by synthesis).

Landmarks pin a face down only as well as the detector places them, and mediapipe's errors
(about 1.5 % of the face's width) are mostly its own average face showing through, the same in
every photo. With two or more photos, the shading says more: each of 1,500 points spread over
the face has one albedo, and each photo lights it by its own second-order spherical-harmonic
irradiance at the point's normal. Per level of blur (coarse, then fine) the albedos and
lightings are solved in closed form by alternation, then the shape (identity, expressions) and
poses take Levenberg-Marquardt steps on the photos' residuals together with the landmark and
prior terms (``solve._solve``), with analytic Jacobians through the projection and the normals.
Visibility (depth test, facing the camera) is fixed per level.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import map_coordinates
from scipy.spatial.transform import Rotation

from revive_core.avatar.fit.pose import POSE_SIZE, photo_block, right_jacobian, skew_matrices
from revive_core.geometry.raster import facing_faces, rasterize
from revive_core.geometry.spherical_harmonics import sh_basis, sh_gradient
from revive_core.geometry.srgb import luminance, srgb_to_linear

__all__ = ["PhotometricTerm"]

SAMPLES = 1500
SEED = 0
LEVELS = (0.02, 0.01)  # blur of the photos, as a share of the face's width
ROUNDS = 1  # per level: albedo and lighting solved, then the shape and poses refined
ITERATIONS = 6  # Levenberg-Marquardt steps per round
PHOTO_SD = 0.04  # how well the model explains a point's brightness (linear, 0..1)
MIN_FACING = 0.35  # cosine to the camera below which a point is not compared
DEPTH_FACE_PX = 128.0  # the depth test needs no finer grid than a face this many pixels wide
HUBER = 2.0  # residuals beyond this many robust spreads count linearly


class PhotometricTerm:
    """The photos' brightness at face points, explained by shared albedo and per-photo light."""

    def __init__(self, model, problem, photos, images: list[np.ndarray], blur: float) -> None:
        self.model, self.problem, self.photos = model, problem, photos
        faces, bary = _face_samples(model)
        corners = model.faces[faces]

        def at_samples(vertices: np.ndarray) -> np.ndarray:
            """(..., 3, S, 3): the samples' points and their triangles' two edges."""
            c = vertices[..., corners, :].astype(np.float64)  # (..., S, 3, 3)
            point = np.einsum("sk,...skd->...sd", bary, c)
            return np.ascontiguousarray(np.stack(
                [point, c[..., 1, :] - c[..., 0, :], c[..., 2, :] - c[..., 0, :]], axis=-3))

        self.base = at_samples(model.vertices_m)
        self.identity = at_samples(model.identity_basis_m)
        self.expressions = at_samples(model.expression_deltas_m[problem.expression_index])
        # What can hide a face point from a camera: the face itself (the nose, the brows).
        self.occluders = model.faces[model.region_mask("face")[model.faces].any(1)]
        self.images = [_prepared(image, photo.scale, blur) for image, photo in zip(images, photos)]
        shape = len(photos), SAMPLES
        self.visible = np.zeros(shape, bool)  # fixed while solving one level
        self.albedo = np.ones(SAMPLES)
        self.weights = np.full(shape, 1.0 / PHOTO_SD)  # per photo and point, set with the albedo
        self.light = np.zeros((len(photos), 9))

    # -- geometry -----------------------------------------------------------------------------
    def _geometry(self, identity: np.ndarray, expression: np.ndarray) -> tuple[np.ndarray, ...]:
        """Points (S, 3), unit normals (S, 3), the normals' unnormalised cross products (S, 3)
        and the triangles' two edges (2, S, 3)."""
        point, edge1, edge2 = (self.base + np.tensordot(identity, self.identity, 1)
                               + np.tensordot(expression, self.expressions, 1))
        cross = np.cross(edge1, edge2)
        normals = cross / (np.linalg.norm(cross, axis=1, keepdims=True) + 1e-12)
        return point, normals, cross, np.stack([edge1, edge2])

    def update_visibility(self, x: np.ndarray, n_id: int, n_ex: int) -> None:
        """Which points each photo sees squarely (depth test against the face)."""
        identity = x[:n_id]
        for p, photo in enumerate(self.photos):
            block = photo_block(x, p, n_id, n_ex)
            expression = np.zeros(len(self.model.expression_names))
            expression[self.problem.expression_index] = block[POSE_SIZE:]
            vertices = self.model.shape(identity, expression)
            camera = photo.camera.posed(block[:3], block[3:6])
            vertex_px, vertex_depth = camera.project(vertices)
            grid = min(1.0, DEPTH_FACE_PX / photo.scale)
            size = (int(np.ceil(camera.width * grid)), int(np.ceil(camera.height * grid)))
            _, _, zbuffer = rasterize(vertex_px * grid, facing_faces(self.occluders, vertex_px),
                                      size, depth=vertex_depth)
            points, normals, _, _ = self._geometry(identity, block[POSE_SIZE:])
            pixels, depth = camera.project(points)
            inside = ((pixels >= 2).all(1) & (pixels[:, 0] < camera.width - 2)
                      & (pixels[:, 1] < camera.height - 2) & (depth > 0))
            col = np.clip((pixels[:, 0] * grid).astype(int), 0, size[0] - 1)
            row = np.clip((pixels[:, 1] * grid).astype(int), 0, size[1] - 1)
            to_camera = -camera.to_camera(points)
            to_camera /= np.linalg.norm(to_camera, axis=1, keepdims=True)
            facing = ((normals @ camera.matrix.T) * to_camera).sum(1)
            self.visible[p] = (inside & (facing > MIN_FACING)
                               & (depth <= zbuffer[row, col] + 0.003 + 0.003 * depth))
        self.visible[:, self.visible.sum(0) < 2] = False  # used only where two photos see it

    def update_appearance(self, x: np.ndarray, n_id: int, n_ex: int, alternations: int = 4
                          ) -> None:
        """Albedo per point and light per photo that best explain the photos (alternating)."""
        values, basis = self._values(x, n_id, n_ex, want_jacobian=False)[:2]
        seen = self.visible
        light = np.zeros_like(self.light)
        light[:, 0] = 1 / 0.282095
        albedo = np.where(seen.any(0), (values * seen).sum(0) / np.maximum(seen.sum(0), 1), 1.0)
        for _ in range(alternations):
            for p in range(len(self.photos)):
                a = basis[p][seen[p]] * albedo[seen[p], None]
                light[p] = np.linalg.lstsq(a, values[p][seen[p]], rcond=None)[0]
            shading = np.einsum("ksj,kj->ks", basis, light) * seen
            albedo = (values * shading).sum(0) / np.maximum((shading**2).sum(0), 1e-9)
        self.albedo, self.light = albedo, light
        # Points the model cannot explain (hair over the brow, a highlight, a changed skin
        # between photos taken years apart) count linearly, not squared (Huber); a photo that
        # agreed poorly with the others on the landmarks counts as little here.
        residual = np.abs(values - albedo[None] * np.einsum("ksj,kj->ks", basis, light))
        spread = 1.4826 * np.median(residual[seen]) if seen.any() else 1.0
        robust = np.sqrt(np.minimum(1.0, HUBER * spread / np.maximum(residual, 1e-12)))
        trust = np.sqrt([photo.weight for photo in self.photos])[:, None]
        self.weights = robust * trust / PHOTO_SD

    # -- least squares ------------------------------------------------------------------------
    def residuals(self, x: np.ndarray, n_id: int, n_ex: int) -> np.ndarray:
        values, basis, _ = self._values(x, n_id, n_ex, want_jacobian=False)
        predicted = self.albedo[None] * np.einsum("ksj,kj->ks", basis, self.light)
        return ((values - predicted) * self.weights)[self.visible]

    def jacobian(self, x: np.ndarray, n_id: int, n_ex: int) -> np.ndarray:
        rows = self._values(x, n_id, n_ex, want_jacobian=True)[2]
        return (rows * self.weights[..., None])[self.visible]

    def _values(self, x: np.ndarray, n_id: int, n_ex: int, *, want_jacobian: bool):
        """Photo values (K, S), SH bases (K, S, 9) at the points' normals, and the Jacobian
        (K, S, P) of value minus predicted value."""
        identity = x[:n_id]
        per = POSE_SIZE + n_ex
        shape = self.visible.shape
        values, bases = np.zeros(shape), np.zeros(shape + (9,))
        rows = np.zeros(shape + (len(x),)) if want_jacobian else None
        for p, (photo, image) in enumerate(zip(self.photos, self.images)):
            block = photo_block(x, p, n_id, n_ex)
            points, normals, cross, (edge1, edge2) = self._geometry(identity,
                                                                             block[POSE_SIZE:])
            rotation = Rotation.from_rotvec(block[:3]).as_matrix()
            normals_camera = normals @ rotation.T
            bases[p] = sh_basis(normals_camera)
            cam = points @ rotation.T + block[3:6]
            depth = np.maximum(-cam[:, 2], 1e-6)
            f = photo.camera.focal_px
            px = photo.camera.cx + f * cam[:, 0] / depth
            py = photo.camera.cy - f * cam[:, 1] / depth
            coords = np.stack([py - 0.5, px - 0.5])
            values[p] = map_coordinates(image[0], coords, order=1, mode="nearest")
            if not want_jacobian:
                continue
            gx = map_coordinates(image[1], coords, order=1, mode="nearest")
            gy = map_coordinates(image[2], coords, order=1, mode="nearest")
            # The photo's value moves with the point's projection ...
            d_cam = np.stack([gx * f / depth, -gy * f / depth,
                              gx * f * cam[:, 0] / depth**2 - gy * f * cam[:, 1] / depth**2], 1)
            d_point = d_cam @ rotation  # (S, 3) in model space
            # ... and the predicted value with the normal (albedo x SH shading).
            d_shading = self.albedo[:, None] * np.einsum(
                "sjd,j->sd", sh_gradient(normals_camera), self.light[p])  # wrt camera normal
            d_normal = d_shading @ rotation  # wrt model normal
            project = np.eye(3)[None] - normals[:, :, None] * normals[:, None, :]
            d_cross = np.einsum("sd,sde->se", d_normal, project) / np.linalg.norm(
                cross, axis=1, keepdims=True)

            def through_shape(basis: np.ndarray) -> np.ndarray:
                """d(value - predicted) / d(coefficients) for a basis (C, 3, S, 3)."""
                d_cross_vec = np.cross(basis[:, 1], edge2[None]) + np.cross(edge1[None], basis[:, 2])
                return (np.einsum("sd,csd->sc", d_point, basis[:, 0])
                        - np.einsum("sd,csd->sc", d_cross, d_cross_vec))

            start = n_id + p * per
            rows[p, :, :n_id] = through_shape(self.identity)
            rows[p, :, start + POSE_SIZE:start + per] = through_shape(self.expressions)
            # Rotation turns both the point and the normal.
            jr = right_jacobian(block[:3])
            turn_point = -np.einsum("sa,ab,sbc,cd->sd", d_cam, rotation,
                                    skew_matrices(points), jr)
            turn_normal = -np.einsum("sa,ab,sbc,cd->sd", d_shading, rotation,
                                     skew_matrices(normals), jr)
            rows[p, :, start:start + 3] = turn_point - turn_normal
            rows[p, :, start + 3:start + 6] = d_cam
        return values, bases, rows


def _face_samples(model) -> tuple[np.ndarray, np.ndarray]:
    """SAMPLES points spread evenly (by area) over the face: triangle indices and barycentrics."""
    face = model.region_mask("face")
    triangles = np.flatnonzero(face[model.faces].all(1))
    tri = model.vertices_m[model.faces[triangles]]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    rng = np.random.default_rng(SEED)
    chosen = rng.choice(triangles, SAMPLES, p=area / area.sum())
    u, v = rng.uniform(size=(2, SAMPLES))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    return chosen, np.stack([1 - u - v, u, v], 1)


def _prepared(image: np.ndarray, face_width_px: float, blur: float) -> np.ndarray:
    """(3, H, W): the photo's linear luminance, blurred, and its x and y gradients."""
    linear = srgb_to_linear(image[..., :3].astype(np.float64) / 255.0)
    smooth = cv2.GaussianBlur(luminance(linear).astype(np.float32), (0, 0),
                              max(blur * face_width_px, 0.5))
    gy, gx = np.gradient(smooth)
    return np.stack([smooth, gx, gy]).astype(np.float64)
