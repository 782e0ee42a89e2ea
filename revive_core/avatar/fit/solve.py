"""Fit a morphable model to the landmarks of one or more photos of the same person.

One identity is shared by all photos; each photo has its own pose, expression and camera. The
solver is a box-bounded Levenberg-Marquardt with analytic Jacobians on:

- reprojection error of the embedded mediapipe landmarks, in units of the face's width in the
  photo over ``LANDMARK_SD`` (the detector's noise), face-outline points weighted less (their
  true place on the skin follows the silhouette);
- mediapipe's relative depth, weakly;
- Gaussian priors: identity in standard deviations (the model's basis is one sd per
  component), expression weights toward 0 and bounded to 0..1.

Robustness: landmarks far off a photo's own fit are down-weighted (Huber), and so are those
on skin turned away from the camera (mediapipe guesses where hidden points lie); each photo's
agreement with the others is checked: every photo is also fitted alone, and one
whose landmarks fit much worse with the shared identity than with its own, compared with the
other photos (another person, a damaged scan, a wrong detection), counts less in the shared
identity and is reported in ``FitResult.notes``. The rig's neutral face is the identity with every
expression removed.

With two or more photos the landmark fit is then refined by how the skin looks in them
(``photometric``: one albedo per face point, each photo its own spherical-harmonic light),
unless that would make the landmarks fit much worse (``PHOTOMETRIC_GUARD``).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from revive_core.avatar.detect import Detection
from revive_core.avatar.fit.photometric import ITERATIONS, LEVELS, ROUNDS, PhotometricTerm
from revive_core.avatar.fit.pose import POSE_SIZE, photo_block, right_jacobian, skew_matrices
from revive_core.avatar.model import MorphableModel
from revive_core.avatar.model.embedding import face_outline
from revive_core.errors import InputError
from revive_core.formats.arkit import ARKIT_BLENDSHAPES
from revive_core.geometry.camera import Camera

__all__ = ["PhotoFit", "FitResult", "fit_model", "FitProblem"]

log = logging.getLogger(__name__)

LANDMARK_SD = 0.025  # detector noise, as a fraction of the face's width in the photo
OUTLINE_WEIGHT = 0.3
IRIS_WEIGHT = 0.5
DEPTH_WEIGHT = 0.15
IDENTITY_PRIOR = 1.0  # identity coefficients are in standard deviations: N(0, 1)
EXPRESSION_PRIOR = 2.0
HUBER_SD = 3.0  # landmarks further off than this many sd count linearly, not squared
BAD_PHOTO_RATIO = 2.5  # a photo paying this much more than the others for one identity ...
BAD_PHOTO_FLOOR = 0.06  # ... and more than this (mean squared landmark error, in sd) counts less
FACING_HIDDEN, FACING_SEEN = 0.0, 0.35  # cosine to the camera: turned away .. squarely seen
FACING_FLOOR = 0.1  # the weight left to a landmark on skin turned away from the camera
PHOTOMETRIC_GUARD = 3.0  # the refinement may not make the landmarks fit this much worse
MAX_ITERATIONS = 50


@dataclass
class PhotoFit:
    detection: Detection
    camera: Camera  # posed: the model seen exactly as in the photo
    expression: np.ndarray  # (E,) weights 0..1 in model.expression_names order
    rms_px: float  # landmark reprojection error of this photo
    weight: float = 1.0  # how much this photo counted in the shared identity (0..1]

    def vertices(self, model: MorphableModel, identity: np.ndarray) -> np.ndarray:
        return model.shape(identity, self.expression)


@dataclass
class FitResult:
    model: MorphableModel
    identity: np.ndarray  # (I,) in standard deviations
    photos: list[PhotoFit]
    seconds: float = 0.0  # time spent fitting (after landmark detection)
    notes: list[str] = field(default_factory=list)  # plain words on photos that counted less

    @property
    def neutral_vertices(self) -> np.ndarray:
        """The person's face with every expression removed: the rig's rest shape."""
        return self.model.shape(self.identity)


class FitProblem:
    """The model's landmark rows and the per-landmark weights, shared by every photo."""

    def __init__(self, model: MorphableModel, expressions: list[str] | None = None) -> None:
        _, mask = model.landmarks(model.vertices_m)
        self.used = np.flatnonzero(mask)
        bary = model.landmark_bary[self.used].astype(np.float64)
        corners = model.faces[model.landmark_faces[self.used]]
        names = expressions if expressions is not None else [
            n for n in model.expression_names if n in ARKIT_BLENDSHAPES]
        self.expression_index = np.array([model.expression_names.index(n) for n in names], int)
        self.base = np.einsum("lk,lkd->ld", bary, model.vertices_m[corners])
        self.corner_base = model.vertices_m[corners].astype(np.float64)  # (L, 3, 3)
        self.corner_identity = model.identity_basis_m[:, corners].astype(np.float64)
        self.identity = np.einsum("lk,ilkd->ild", bary, model.identity_basis_m[:, corners])
        self.expressions = np.einsum("lk,elkd->eld", bary,
                                     model.expression_deltas_m[self.expression_index][:, corners])
        outline = set(face_outline().tolist())
        self.weights = np.array([OUTLINE_WEIGHT if i in outline else IRIS_WEIGHT if i >= 468
                                 else 1.0 for i in self.used])
        self.width_m = float(np.ptp(self.base[:, 0]))

    def normals(self, identity: np.ndarray) -> np.ndarray:
        """Unit normals (L, 3) of the landmarks' triangles on the neutral face of ``identity``."""
        corners = self.corner_base + np.tensordot(identity, self.corner_identity, 1)
        normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        return normal / (np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12)

    def points(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """Model-space landmarks (L, 3) for identity (I,) and the fitted expressions (E',)."""
        return (self.base + np.tensordot(identity, self.identity, 1)
                + np.tensordot(expression, self.expressions, 1))


@dataclass
class _Photo:
    camera: Camera
    target: np.ndarray  # (L, 3) detected landmarks
    scale: float  # face width, px
    weight: float = 1.0
    landmark_weights: np.ndarray | None = None


def fit_model(model: MorphableModel, detections: list[Detection], *,
              photometric: bool = True) -> FitResult:
    """Fit ``model`` jointly to all ``detections`` (photos of one person).

    With several photos and ``photometric``, the landmark fit is refined by how the skin looks
    in each photo (``photometric.PhotometricTerm``).
    """
    if not detections:
        raise InputError("No photos were given to fit.", "Pass at least one photo of the face.")
    started = time.perf_counter()
    problem = FitProblem(model)
    photos = [_Photo(Camera.for_photo(*d.size), d.landmarks_px[problem.used], d.face_width_px)
              for d in detections]
    n_id, n_ex = len(model.identity_names), len(problem.expression_index)
    x = np.zeros(n_id + len(photos) * (POSE_SIZE + n_ex))
    for p, photo in enumerate(photos):
        photo_block(x, p, n_id, n_ex)[:POSE_SIZE] = _initial_pose(photo.camera, problem,
                                                                  photo.target, photo.scale)
    notes: list[str] = []
    if len(photos) == 1:
        x = _solve(problem, photos, x, n_id, n_ex)
        _huber_weights(problem, photos, [x], n_id, n_ex)
    else:
        # Each photo alone first: landmarks even its own fit can't explain count less (Huber),
        # its cost with an identity of its own is the yardstick for agreement, and the
        # solutions are a warm start for the joint fit.
        alone = [_solve(problem, [photo],
                        np.concatenate([x[:n_id], photo_block(x, p, n_id, n_ex)]), n_id, n_ex)
                 for p, photo in enumerate(photos)]
        _huber_weights(problem, photos, alone, n_id, n_ex)
        solo = [_photo_costs(problem, [photo], xs, n_id, n_ex)[0]
                for photo, xs in zip(photos, alone)]
        x = np.concatenate([np.mean([xs[:n_id] for xs in alone], axis=0)]
                           + [xs[n_id:] for xs in alone])
        x = _solve(problem, photos, x, n_id, n_ex)
        notes = _agreement_weights(_photo_costs(problem, photos, x, n_id, n_ex), solo, photos,
                                   [d.path.name for d in detections])
        if notes:  # restart identity from the photos that agree (the valley is flat)
            x[:n_id] = np.average([xs[:n_id] for xs in alone], axis=0,
                                  weights=[photo.weight for photo in photos])
    if notes or len(photos) == 1:
        x = _solve(problem, photos, x, n_id, n_ex)
    if len(photos) > 1 and photometric:
        landmarks_only = x
        for blur in LEVELS:
            term = PhotometricTerm(model, problem, photos, [d.image for d in detections], blur)
            for _ in range(ROUNDS):
                term.update_visibility(x, n_id, n_ex)
                term.update_appearance(x, n_id, n_ex)
                x = _solve(problem, photos, x, n_id, n_ex, extra=term, iterations=ITERATIONS)
        before = sum(_photo_costs(problem, photos, landmarks_only, n_id, n_ex))
        after = sum(_photo_costs(problem, photos, x, n_id, n_ex))
        log.debug("photometric refinement: landmark cost %.3f -> %.3f", before, after)
        if after > PHOTOMETRIC_GUARD * before + 0.05:
            x = landmarks_only  # the photos' shading disagrees with their landmarks: distrust it
    identity = x[:n_id].copy()
    fitted = []
    for p, (detection, photo) in enumerate(zip(detections, photos)):
        block = photo_block(x, p, n_id, n_ex)
        camera = photo.camera.posed(block[:3], block[3:6])
        expression = np.zeros(len(model.expression_names))
        expression[problem.expression_index] = block[POSE_SIZE:]
        pixels, _ = camera.project(problem.points(identity, block[POSE_SIZE:]))
        rms = float(np.sqrt(((pixels - photo.target[:, :2]) ** 2).sum(1).mean()))
        log.debug("%s: landmarks fitted within %.1f px (rms), weight %.2f", detection.path.name,
                  rms, photo.weight)
        fitted.append(PhotoFit(detection, camera, expression, rms, photo.weight))
    return FitResult(model, identity, fitted, time.perf_counter() - started, notes)


def _solve(problem: FitProblem, photos: list[_Photo], x0: np.ndarray, n_id: int,
           n_ex: int, extra=None, iterations: int = MAX_ITERATIONS) -> np.ndarray:
    """The least-squares fit from ``x0``; ``extra`` (a ``PhotometricTerm``) adds its terms."""
    per = POSE_SIZE + n_ex
    lower = np.full_like(x0, -np.inf)
    upper = np.full_like(x0, np.inf)
    lower[:n_id], upper[:n_id] = -4.0, 4.0
    for p in range(len(photos)):
        start = n_id + p * per + POSE_SIZE
        lower[start:start + n_ex], upper[start:start + n_ex] = 0.0, 1.0

    def residuals(x):
        r = _evaluate(problem, photos, x, n_id, n_ex, False)
        return r if extra is None else np.concatenate([r, extra.residuals(x, n_id, n_ex)])

    def jacobian(x):
        j = _evaluate(problem, photos, x, n_id, n_ex, True)
        return j if extra is None else np.vstack([j, extra.jacobian(x, n_id, n_ex)])

    return _levenberg_marquardt(residuals, jacobian, np.clip(x0, lower, upper), lower, upper,
                                iterations=iterations)


def _levenberg_marquardt(residuals, jacobian, x: np.ndarray, lower: np.ndarray,
                         upper: np.ndarray, *, iterations: int = MAX_ITERATIONS) -> np.ndarray:
    """Box-bounded Levenberg-Marquardt on the normal equations (steps clipped to the box).

    The problem has a few hundred parameters but thousands of residuals: J^T J is small, so
    solving it directly is far cheaper than the SVD of J that scipy's trf does per step.
    """
    r = residuals(x)
    cost = float(r @ r)
    damping = 1e-3
    for _ in range(iterations):
        j = jacobian(x)
        gradient = j.T @ r
        hessian = j.T @ j
        scale = np.diag(hessian).copy() + 1e-9
        improved = False
        while damping < 1e10:
            step = np.linalg.solve(hessian + damping * np.diag(scale), -gradient)
            candidate = np.clip(x + step, lower, upper)
            r_new = residuals(candidate)
            cost_new = float(r_new @ r_new)
            if cost_new < cost:
                improved = True
                damping = max(damping / 3.0, 1e-9)
                break
            damping *= 4.0
        if not improved:
            break
        change = cost - cost_new
        x, r, cost = candidate, r_new, cost_new
        if change < 1e-5 * cost or np.abs(step).max() < 1e-8:
            break
    return x


def _evaluate(problem: FitProblem, photos: list[_Photo], x: np.ndarray, n_id: int, n_ex: int,
              want_jacobian: bool) -> np.ndarray:
    """Residuals (R,), or their Jacobian (R, P) when ``want_jacobian``."""
    per = POSE_SIZE + n_ex
    identity = x[:n_id]
    rows = [IDENTITY_PRIOR * (np.eye(n_id, len(x)) if want_jacobian else identity)]
    landmarks = len(problem.used)
    for p, photo in enumerate(photos):
        start = n_id + p * per
        block = x[start:start + per]
        expression = block[POSE_SIZE:]
        model_points = problem.points(identity, expression)
        rotation = Rotation.from_rotvec(block[:3]).as_matrix()
        cam = model_points @ rotation.T + block[3:6]
        depth = np.maximum(-cam[:, 2], 1e-6)
        f = photo.camera.focal_px
        pixels = np.stack([photo.camera.cx + f * cam[:, 0] / depth,
                           photo.camera.cy - f * cam[:, 1] / depth], 1)
        weight = problem.weights * (photo.landmark_weights if photo.landmark_weights is not None
                                    else 1.0)
        scale = np.sqrt(photo.weight) / (LANDMARK_SD * photo.scale)
        mean_depth = depth.mean()
        if not want_jacobian:
            rows.append(((pixels - photo.target[:, :2]) * (scale * weight)[:, None]).ravel())
            relative = (depth - mean_depth) * f / mean_depth
            target_z = photo.target[:, 2] - photo.target[:, 2].mean()
            rows.append(DEPTH_WEIGHT * scale * weight * (relative - target_z))
            rows.append(EXPRESSION_PRIOR * expression)
            continue
        # d(pixel)/d(camera point): (L, 2, 3)
        d_pixel = np.zeros((landmarks, 2, 3))
        d_pixel[:, 0, 0] = f / depth
        d_pixel[:, 0, 2] = f * cam[:, 0] / depth**2
        d_pixel[:, 1, 1] = -f / depth
        d_pixel[:, 1, 2] = -f * cam[:, 1] / depth**2
        # d(camera point)/d(parameters): identity, rotation, translation, expression.
        d_identity = np.einsum("ab,ilb->lai", rotation, problem.identity)
        d_rotation = -np.einsum("ab,lbc,cd->lad", rotation, skew_matrices(model_points),
                                right_jacobian(block[:3]))
        d_translation = np.broadcast_to(np.eye(3), (landmarks, 3, 3))
        d_expression = np.einsum("ab,elb->lae", rotation, problem.expressions)
        d_cam = np.concatenate([d_rotation, d_translation, d_expression], axis=2)  # (L, 3, per)
        w = (scale * weight)[:, None, None]
        pixel_rows = np.zeros((landmarks, 2, len(x)))
        pixel_rows[:, :, :n_id] = w * np.einsum("lac,lci->lai", d_pixel, d_identity)
        pixel_rows[:, :, start:start + per] = w * np.einsum("lac,lcj->laj", d_pixel, d_cam)
        rows.append(pixel_rows.reshape(2 * landmarks, len(x)))
        depth_rows = np.zeros((landmarks, len(x)))
        depth_rows[:, :n_id] = -d_identity[:, 2]
        depth_rows[:, start:start + per] = -d_cam[:, 2]
        # relative = f (d / mean(d) - 1), so d(relative) = f / mean(d) (dd - d / mean(d) dmean).
        depth_rows -= (depth / mean_depth)[:, None] * depth_rows.mean(0)
        rows.append(DEPTH_WEIGHT * (scale * weight)[:, None] * f / mean_depth * depth_rows)
        prior = np.zeros((n_ex, len(x)))
        prior[:, start + POSE_SIZE:start + per] = EXPRESSION_PRIOR * np.eye(n_ex)
        rows.append(prior)
    return np.concatenate(rows) if not want_jacobian else np.vstack(rows)


def _photo_costs(problem: FitProblem, photos: list[_Photo], x: np.ndarray, n_id: int,
                 n_ex: int) -> list[float]:
    """Each photo's landmark cost (mean squared error in detector sd, weights as fitted)."""
    costs = []
    for p, photo in enumerate(photos):
        single = _Photo(photo.camera, photo.target, photo.scale, 1.0, photo.landmark_weights)
        r = _evaluate(problem, [single], np.concatenate([x[:n_id], photo_block(x, p, n_id, n_ex)]),
                      n_id, n_ex, False)[n_id:n_id + 2 * len(problem.used)]
        costs.append(float(r @ r) / len(problem.used))
    return costs


def _huber_weights(problem: FitProblem, photos: list[_Photo], solutions: list[np.ndarray],
                   n_id: int, n_ex: int) -> None:
    """Landmarks far off their fit count linearly, not squared (set on each photo).

    ``solutions`` holds each photo's own fit (identity first, then its block), or one joint
    fit for all photos.
    """
    for p, photo in enumerate(photos):
        x = solutions[p] if len(solutions) == len(photos) else solutions[0]
        block = photo_block(x, 0 if len(solutions) == len(photos) else p, n_id, n_ex)
        pixels, _ = photo.camera.posed(block[:3], block[3:6]).project(
            problem.points(x[:n_id], block[POSE_SIZE:]))
        in_sd = np.linalg.norm(pixels - photo.target[:, :2], axis=1) / (LANDMARK_SD * photo.scale)
        photo.landmark_weights = np.sqrt(HUBER_SD / np.maximum(in_sd, HUBER_SD)) * _facing_weights(
            problem, x[:n_id], block)


def _facing_weights(problem: FitProblem, identity: np.ndarray, block: np.ndarray) -> np.ndarray:
    """(L,) weights: landmarks on skin turned away from the camera count less.

    mediapipe places every landmark, also those the face hides from the camera (the far
    cheek and jaw of a turned head): those are guesses from its own average face, and
    fitting them pulls the identity toward that average.
    """
    rotation = Rotation.from_rotvec(block[:3]).as_matrix()
    points = problem.points(identity, block[POSE_SIZE:]) @ rotation.T + block[3:6]
    to_camera = -points / np.linalg.norm(points, axis=1, keepdims=True)
    facing = (problem.normals(identity) @ rotation.T * to_camera).sum(1)
    return np.clip((facing - FACING_HIDDEN) / (FACING_SEEN - FACING_HIDDEN), FACING_FLOOR, 1.0)


def _agreement_weights(joint: list[float], solo: list[float], photos: list[_Photo],
                       names: list[str]) -> list[str]:
    """Down-weight photos that pay much more than the others for sharing one identity.

    A photo's excess is how much worse its landmarks fit with the shared identity than with
    an identity of its own. Returns plain-language notes on the photos that count less.
    """
    notes = []
    if len(photos) < 2:
        return notes
    excess = np.maximum(np.array(joint) - np.array(solo), 0.0)
    for p, photo in enumerate(photos):
        others = float(np.median(np.delete(excess, p)))
        limit = max(BAD_PHOTO_RATIO * others, BAD_PHOTO_FLOOR)
        if excess[p] > limit:
            photo.weight = float(max((limit / excess[p]) ** 4, 0.01))
            notes.append(f"{names[p]} does not agree well with the other photos, so it counted "
                         f"less in the face shape ({photo.weight:.0%}). It may show someone else, "
                         "or the face may be partly hidden or distorted.")
    return notes


def _initial_pose(camera: Camera, problem: FitProblem, target: np.ndarray, scale: float):
    """Rotation and translation from OpenCV's PnP on the mean shape, or a frontal guess."""
    import cv2

    model_lm = problem.base
    distance = camera.focal_px * problem.width_m / scale
    centre = target[:, :2].mean(0)
    guess = np.array([0.0, 0.0, 0.0, (centre[0] - camera.cx) * distance / camera.focal_px,
                      -(centre[1] - camera.cy) * distance / camera.focal_px, -distance])
    k = np.array([[camera.focal_px, 0, camera.cx], [0, camera.focal_px, camera.cy], [0, 0, 1.0]])
    # OpenCV's camera looks down +Z with y down: flip y and z of the model into its frame.
    flip = np.diag([1.0, -1.0, -1.0])
    ok, rvec, tvec = cv2.solvePnP(model_lm @ flip.T, target[:, :2].astype(np.float64), k, None,
                                  flags=cv2.SOLVEPNP_EPNP)
    if not ok or tvec[2, 0] <= 0:
        return guess
    rotation = flip @ cv2.Rodrigues(rvec)[0] @ flip
    return np.concatenate([Rotation.from_matrix(rotation).as_rotvec(), flip @ tvec[:, 0]])
