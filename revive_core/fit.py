"""Fit a morphable model to the landmarks of one or more photos of the same person.

One identity is shared by all photos; each photo has its own pose, expression and camera. The
solver is scipy's trust-region least squares on reprojection error (pixels, relative to the
face's width), mediapipe's relative depth, and Gaussian priors on identity and expression.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix

from .camera import Camera
from .detect import Detection
from .errors import InputError
from .model import MorphableModel

__all__ = ["PhotoFit", "FitResult", "fit_model"]

log = logging.getLogger(__name__)

FACE_WIDTH_M = 0.134  # the built-in template's width, for the initial distance
DEPTH_WEIGHT = 0.3
IDENTITY_PRIOR = 0.02
EXPRESSION_PRIOR = 0.01
POSE = 6


@dataclass
class PhotoFit:
    detection: Detection
    camera: Camera  # posed: the model seen exactly as in the photo
    expression: np.ndarray  # (E,) weights 0..1 in model.expression_names order
    rms_px: float  # landmark reprojection error of this photo

    def vertices(self, model: MorphableModel, identity: np.ndarray) -> np.ndarray:
        return model.shape(identity, self.expression)


@dataclass
class FitResult:
    model: MorphableModel
    identity: np.ndarray  # (I,) in standard deviations
    photos: list[PhotoFit]

    @property
    def neutral_vertices(self) -> np.ndarray:
        """The person's face with every expression removed: the rig's rest shape."""
        return self.model.shape(self.identity)


def fit_model(model: MorphableModel, detections: list[Detection]) -> FitResult:
    """Fit ``model`` jointly to all ``detections`` (photos of one person)."""
    if not detections:
        raise InputError("No photos were given to fit.", "Pass at least one photo of the face.")
    points, mask = model.landmarks(model.vertices_m)
    used = np.flatnonzero(mask)
    weights = model.landmark_bary[used].astype(np.float64)
    corners = model.faces[model.landmark_faces[used]]
    n_id, n_ex = len(model.identity_names), len(model.expression_names)
    per_photo = POSE + n_ex

    id_lm = np.einsum("lk,ilkd->ild", weights, model.identity_basis_m[:, corners])
    ex_lm = np.einsum("lk,elkd->eld", weights, model.expression_deltas_m[:, corners])
    base_lm = np.einsum("lk,lkd->ld", weights, model.vertices_m[corners])
    cameras = [Camera.for_photo(*d.size) for d in detections]
    targets = [d.landmarks_px[used] for d in detections]
    scales = [d.face_width_px for d in detections]

    def unpack(x):
        identity = x[:n_id]
        blocks = x[n_id:].reshape(len(detections), per_photo)
        return identity, blocks

    def residuals(x):
        identity, blocks = unpack(x)
        shaped = base_lm + np.tensordot(identity, id_lm, 1)
        out = [IDENTITY_PRIOR * identity * 10.0]
        for camera, target, scale, block in zip(cameras, targets, scales, blocks):
            lm = shaped + np.tensordot(block[POSE:], ex_lm, 1)
            posed = camera.posed(block[:3], block[3:6])
            pixels, depth = posed.project(lm)
            out.append(((pixels - target[:, :2]) / scale).ravel())
            relative = (depth - depth.mean()) * camera.focal_px / depth.mean()
            out.append(DEPTH_WEIGHT * (relative - (target[:, 2] - target[:, 2].mean())) / scale)
            out.append(EXPRESSION_PRIOR * block[POSE:] * 10.0)
        return np.concatenate(out)

    x0 = np.concatenate([np.zeros(n_id)] + [
        np.concatenate([_initial_pose(c, base_lm, t, s), np.zeros(n_ex)])
        for c, t, s in zip(cameras, targets, scales)])
    lower = np.full_like(x0, -np.inf)
    upper = np.full_like(x0, np.inf)
    lower[:n_id], upper[:n_id] = -3.0, 3.0
    for p in range(len(detections)):
        start = n_id + p * per_photo + POSE
        lower[start:start + n_ex], upper[start:start + n_ex] = 0.0, 1.0
    x0 = np.clip(x0, lower + 1e-9, upper - 1e-9)
    solution = least_squares(residuals, x0, bounds=(lower, upper),
                             jac_sparsity=_sparsity(len(detections), n_id, per_photo, len(used)),
                             x_scale="jac", max_nfev=200, method="trf")
    identity, blocks = unpack(solution.x)
    photos = []
    shaped = base_lm + np.tensordot(identity, id_lm, 1)
    for detection, camera, target, block in zip(detections, cameras, targets, blocks):
        posed = camera.posed(block[:3], block[3:6])
        pixels, _ = posed.project(shaped + np.tensordot(block[POSE:], ex_lm, 1))
        rms = float(np.sqrt(((pixels - target[:, :2]) ** 2).sum(1).mean()))
        log.debug("%s: landmarks fitted within %.1f px (rms)", detection.path.name, rms)
        photos.append(PhotoFit(detection, posed, block[POSE:].copy(), rms))
    return FitResult(model, identity, photos)


def _initial_pose(camera: Camera, model_lm: np.ndarray, target: np.ndarray, scale: float):
    """Rotation and translation from OpenCV's PnP on the mean shape, or a frontal guess."""
    import cv2

    distance = camera.focal_px * FACE_WIDTH_M / scale
    centre = target[:, :2].mean(0)
    guess_t = np.array([(centre[0] - camera.cx) * distance / camera.focal_px,
                        -(centre[1] - camera.cy) * distance / camera.focal_px, -distance])
    k = np.array([[camera.focal_px, 0, camera.cx], [0, camera.focal_px, camera.cy], [0, 0, 1.0]])
    # OpenCV's camera looks down +Z with y down: flip y and z of the model into its frame.
    flip = np.diag([1.0, -1.0, -1.0])
    ok, rvec, tvec = cv2.solvePnP(model_lm @ flip.T, target[:, :2].astype(np.float64), k, None,
                                  flags=cv2.SOLVEPNP_EPNP)
    if not ok or tvec[2, 0] <= 0:
        return np.concatenate([np.zeros(3), guess_t])
    rotation = flip @ cv2.Rodrigues(rvec)[0] @ flip
    from scipy.spatial.transform import Rotation

    return np.concatenate([Rotation.from_matrix(rotation).as_rotvec(), flip @ tvec[:, 0]])


def _sparsity(photos: int, n_id: int, per_photo: int, landmarks: int):
    """Which parameters each residual depends on (identity: all photos; pose: its photo)."""
    rows_per_photo = 3 * landmarks + (per_photo - POSE)
    matrix = lil_matrix((n_id + photos * rows_per_photo, n_id + photos * per_photo), dtype=int)
    matrix[:n_id, :n_id] = np.eye(n_id, dtype=int)
    for p in range(photos):
        r0 = n_id + p * rows_per_photo
        c0 = n_id + p * per_photo
        matrix[r0:r0 + 3 * landmarks, :n_id] = 1
        matrix[r0:r0 + 3 * landmarks, c0:c0 + per_photo] = 1
        matrix[r0 + 3 * landmarks:r0 + rows_per_photo, c0 + POSE:c0 + per_photo] = \
            np.eye(per_photo - POSE, dtype=int)
    return matrix
