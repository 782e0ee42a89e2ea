"""Sample each photo into UV space where the fitted surface is visible and faces the camera.

A texel's confidence in a photo is the product of three things: how squarely the photo sees
it (viewing angle), how many photo pixels fall on it (distance and the photo's resolution), and
how far it lies from an occlusion or silhouette edge (where colours mix with what is behind).

The fitted head never matches the photo's outline exactly, so texels near the fitted
silhouette may land on the background or hair: their confidence fades toward the silhouette,
and there a texel whose colour is far from the skin's (CIELAB distance) is dropped. Texels
whose photo pixel is background by the person segmentation (``segment.person_mask``) are
dropped everywhere: around the neck and the top of the head the fit can be off by more than
the fading band. Pixels inside the mouth's opening (the inner lip contour of the landmarks) are
never taken: where the fit opens the mouth a little less than the photo, they would paint the
photo's teeth or the dark of the mouth onto the lips.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from revive_core.avatar.segment import person_mask
from revive_core.avatar.texture.uv import UVLayout
from revive_core.geometry.camera import Camera
from revive_core.geometry.raster import facing_faces, rasterize
from revive_core.geometry.srgb import srgb_to_linear

__all__ = ["INNER_LIPS", "PhotoView", "ViewSamples", "sample_view"]

MIN_FACING = 0.2  # cosine of the steepest viewing angle that still counts
EDGE_MARGIN_PX = 2  # photo pixels next to a silhouette or occlusion edge are not trusted
SILHOUETTE_BAND = 0.06  # confidence fades over this fraction of the head's size in the photo
OUTLIER_DELTA_E = 22.0  # near the silhouette, colours this far from the skin's are dropped
# ... counting only this share of a difference in lightness: skin turning away from the light
# is darker but keeps its hue (a full count dropped whole shaded cheeks, a seam at 30 degrees)
OUTLIER_LIGHTNESS_SHARE = 0.5
PERSON_LOW, PERSON_HIGH = 0.3, 0.7  # person probability: below LOW dropped, above HIGH kept
# mediapipe's inner lip contour, around the mouth's opening
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178,
              88, 95)
MOUTH_MARGIN = 0.04  # the opening is widened by this share of the mouth's width


@dataclass
class PhotoView:
    """One photo and the fitted surface as it appears in it."""

    image: np.ndarray  # (H, W, 3) uint8 sRGB
    camera: Camera
    vertices_m: np.ndarray  # (V, 3) posed by the fit, with the photo's expression
    person: np.ndarray | None = None  # (H, W) 0..1 person probability; segmented when None
    mouth_px: np.ndarray | None = None  # (K, 2) the mouth's opening in the photo (INNER_LIPS)
    landmarks_px: np.ndarray | None = None  # (478, 2+) the photo's landmarks (iris: 468-477)


@dataclass
class ViewSamples:
    """What one photo says about each covered texel.

    Attributes
    ----------
    colours : np.ndarray [shape=(N, 3)]
        Linear RGB 0..1 of each texel as the photo shows it (0 where unseen).
    confidence : np.ndarray [shape=(N,)]
        0..1; 0 where the photo does not see the texel.
    normals_camera : np.ndarray [shape=(N, 3)]
        The texel's unit normal in the photo's camera frame.
    """

    colours: np.ndarray
    confidence: np.ndarray
    normals_camera: np.ndarray


def sample_view(view: PhotoView, faces: np.ndarray, layout: UVLayout,
                texel_size_m: np.ndarray) -> ViewSamples:
    """Sample ``view`` at the texels of ``layout``.

    Parameters
    ----------
    view : PhotoView
    faces : np.ndarray [shape=(F, 3)]
        The mesh's triangles (vertex indices).
    layout : UVLayout
        Where each texel lies on the mesh.
    texel_size_m : np.ndarray [shape=(N,)]
        Edge length of each texel on the surface, metres (``UVLayout.texel_size_m``).
    """
    cam = view.camera
    vertices = np.asarray(view.vertices_m, dtype=np.float64)
    points = layout.points(vertices, faces)
    pixels, depth = cam.project(points)

    # Depth test against the whole mesh as the photo sees it.
    vertex_px, vertex_depth = cam.project(vertices)
    face_id, _, zbuffer = rasterize(vertex_px, facing_faces(faces, vertex_px),
                                    (cam.width, cam.height), depth=vertex_depth)
    col = np.clip(pixels[:, 0].astype(int), 0, cam.width - 1)
    row = np.clip(pixels[:, 1].astype(int), 0, cam.height - 1)
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < cam.width) & \
             (pixels[:, 1] >= 0) & (pixels[:, 1] < cam.height) & (depth > 0)
    visible = inside & (depth <= zbuffer[row, col] + 0.002 + 0.002 * depth)

    # Away from depth discontinuities: silhouettes, and where the nose hides the cheek.
    edge = _depth_edges(zbuffer, face_id >= 0)
    visible &= edge[row, col] == 0

    # Fade toward the fitted silhouette, where the fit and the photo disagree most.
    covered = face_id >= 0
    inward_px = cv2.distanceTransform(covered.astype(np.uint8), cv2.DIST_L2, 5)[row, col]
    band_px = max(2.0, SILHOUETTE_BAND * float(np.sqrt(covered.sum())))
    silhouette = np.clip(inward_px / band_px, 0.0, 1.0)

    normals = layout.normals(vertices, faces) @ cam.matrix.T
    to_camera = -cam.to_camera(points)
    to_camera /= np.linalg.norm(to_camera, axis=1, keepdims=True) + 1e-12
    facing = np.clip(((normals * to_camera).sum(1) - MIN_FACING) / (1 - MIN_FACING), 0, 1)
    # Photo pixels along one texel's edge: below 1 the photo is the limit, not the texture.
    pixels_per_texel = cam.focal_px * texel_size_m / np.maximum(depth, 1e-6)
    resolution = np.clip(pixels_per_texel, 0.05, 1.0) ** 0.5
    person = view.person if view.person is not None else person_mask(view.image)
    on_person = np.clip((_bilinear(person, pixels)[:, 0] - PERSON_LOW)
                        / (PERSON_HIGH - PERSON_LOW), 0.0, 1.0)
    confidence = np.where(visible, facing * resolution * silhouette * on_person, 0.0)
    if view.mouth_px is not None:
        confidence[_mouth_opening(view.mouth_px, (cam.height, cam.width))[row, col]] = 0.0
    colours = srgb_to_linear(_bilinear(view.image, pixels) / 255.0)
    confidence[(silhouette < 1) & _colour_outliers(colours, confidence, silhouette >= 1)] = 0.0
    colours[confidence <= 0] = 0.0
    return ViewSamples(colours, confidence.astype(np.float64), normals)


def _mouth_opening(contour_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: inside the inner lip contour, widened by MOUTH_MARGIN of the mouth's width."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(contour_px).astype(np.int32)], 1)
    width = float(np.ptp(contour_px[:, 0]))
    margin = max(1, int(round(MOUTH_MARGIN * width)))
    return cv2.dilate(mask, np.ones((2 * margin + 1,) * 2, np.uint8)) > 0 if mask.any() else mask > 0


def _colour_outliers(colours: np.ndarray, confidence: np.ndarray,
                     reference: np.ndarray) -> np.ndarray:
    """(N,) bool: colours far (CIELAB, lightness counting ``OUTLIER_LIGHTNESS_SHARE``) from the
    median of the well-seen ``reference`` texels."""
    trusted = reference & (confidence > 0.5 * confidence.max(initial=0.0))
    if trusted.sum() < 100:
        return np.zeros(len(colours), bool)
    lab = cv2.cvtColor(np.clip(colours, 0, 1).astype(np.float32).reshape(-1, 1, 3),
                       cv2.COLOR_LRGB2Lab).reshape(-1, 3)
    difference = (lab - np.median(lab[trusted], axis=0)) * [OUTLIER_LIGHTNESS_SHARE, 1.0, 1.0]
    return np.linalg.norm(difference, axis=1) > OUTLIER_DELTA_E


def _depth_edges(zbuffer: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """(H, W) uint8, 1 within EDGE_MARGIN_PX of a silhouette or a jump in depth."""
    depth = np.where(covered, zbuffer, 0.0).astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    jump = (cv2.dilate(depth, kernel) - cv2.erode(depth, kernel)) > 0.01 + 0.02 * depth
    edges = (jump | ~covered).astype(np.uint8)
    return cv2.dilate(edges, np.ones((2 * EDGE_MARGIN_PX + 1,) * 2, np.uint8))


def _bilinear(image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Values (N, C) of ``image`` (H, W, C) or (H, W) at pixel positions (N, 2), bilinearly
    interpolated."""
    n = len(pixels)
    rows = -(-n // 1024)  # cv2.remap wants maps under 32767 pixels a side
    maps = np.zeros((2, rows * 1024), dtype=np.float32)
    maps[:, :n] = (pixels - 0.5).T
    sampled = cv2.remap(image, maps[0].reshape(rows, 1024), maps[1].reshape(rows, 1024),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return sampled.reshape(rows * 1024, -1)[:n].astype(np.float64)
