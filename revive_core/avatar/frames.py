"""Choose the frames of a home video to build from: sharp, eyes open, one face, varied turns.

Candidates are sampled evenly (``SAMPLE_RATE_HZ`` a second, at most ``MAX_CANDIDATES`` in all)
and mediapipe's face mesh runs on each. A frame is a candidate when it shows exactly one face
at least ``MIN_VIDEO_FACE_PX`` wide and, where photos are given too, when that face is the
person in the photos (``identity``); a video needs ``MIN_FACE_FRAMES`` such frames. Each is scored:

- sharpness: the variance of the Laplacian of the face, cropped and resized to
  ``SHARPNESS_CROP_PX`` square (so faces of any size compare), over the clip's sharpest;
- eyes open: the lids' distance over the eye's width, 0 at ``EYES_CLOSED`` and 1 from
  ``EYES_OPEN`` (frames mid-blink, below ``BLINK_LIMIT``, are left out);
- head yaw: the rotation that best lays the face model's landmarks onto mediapipe's 3D landmarks
  (scaled orthographic, on the points expressions move little), in degrees, positive when the
  face turns toward its own left (the core's +X).

``score = (0.3 + 0.7 * sharpness) * (0.5 + 0.5 * eyes_open)``. The chosen frames are the best
of each yaw bin (``YAW_BIN_EDGES_DEG``, from the person's right to their left), then the best of
the rest up to ``MAX_FRAMES``; a frame whose landmarks (pose and expression) lie within
``DUPLICATE_SHAPE`` of a chosen one's is a near-duplicate and skipped. Faces narrower than
``UPSCALED_FACE_PX`` are scaled up (Lanczos, a whole factor up to ``MAX_UPSCALE``) and their
landmarks found again: on the Carphone clip (faces about 48 px wide) mediapipe's landmarks on the
frame as decoded lie 1.2% of the face's width from those on the frame scaled 4 times, and 0.4%
at 2 times, 0.1% at 3 times: they settle as the face grows, and the fit and the texture get a
face of the size they expect from photos.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from revive_core.avatar.clip import ClipInfo, probe_clip, read_frames
from revive_core.avatar.detect import MIN_FACE_PX, Detection, find_faces
from revive_core.avatar.identity import face_matcher, rigid_points
from revive_core.avatar.model import MorphableModel
from revive_core.errors import InputError

__all__ = ["FrameScore", "ChosenFrame", "ClipFrames", "choose_frames", "head_yaw_deg",
           "eyes_open", "sharpness", "MAX_FRAMES"]

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 8.0
MAX_CANDIDATES = 48
MAX_FRAMES = 8
MIN_VIDEO_FACE_PX = 40  # narrower faces in a video are left out: their landmarks are guesses
MIN_FACE_FRAMES = 3  # fewer frames with a face: a passer-by or a false detection, not the person
UPSCALED_FACE_PX = 2 * MIN_FACE_PX
MAX_UPSCALE = 4
SHARPNESS_CROP_PX = 128
EYES_CLOSED, EYES_OPEN = 0.1, 0.25  # lids' distance over the eye's width
BLINK_LIMIT = 0.25
YAW_BIN_EDGES_DEG = (-35.0, -25.0, -15.0, -5.0, 5.0, 15.0, 25.0, 35.0)
DUPLICATE_SHAPE = 0.02  # mean landmark distance over the face's width
SEVERAL_PEOPLE_SHARE = 0.5  # more than this share of the frames with a face show two or more
# mediapipe's eye corners and three lid pairs (upper, lower), for each eye
EYES = (((33, 133), ((159, 145), (158, 153), (160, 144))),
        ((263, 362), ((386, 374), (385, 380), (387, 373))))


@dataclass(frozen=True)
class FrameScore:
    """How good one frame is to build from."""

    time_s: float
    face_width_px: float  # in the frame as decoded
    sharpness: float  # 0..1, over the clip's sharpest face
    eyes_open: float  # 0 closed .. 1 open
    yaw_deg: float  # positive: turned toward the face's own left
    score: float  # 0..1
    person_distance: float | None = None  # to the photos' person (``identity``), if compared

    def record(self) -> dict:
        """The scores as JSON-ready numbers (for the avatar's provenance)."""
        record = {"time_s": round(self.time_s, 3), "score": round(self.score, 3),
                  "sharpness": round(self.sharpness, 3), "eyes_open": round(self.eyes_open, 3),
                  "yaw_deg": round(self.yaw_deg, 1), "face_width_px": round(self.face_width_px, 1)}
        if self.person_distance is not None:
            record["person_distance"] = round(self.person_distance, 3)
        return record


@dataclass(frozen=True)
class ChosenFrame:
    """A frame chosen to build from."""

    score: FrameScore
    frame: np.ndarray  # (H, W, 3) uint8 RGB as decoded
    detection: Detection  # on the frame scaled up ``upscale`` times
    upscale: int


@dataclass(frozen=True)
class ClipFrames:
    """The frames chosen from one clip, and how many were looked at."""

    info: ClipInfo
    frames: list[ChosenFrame]
    candidates: int  # frames decoded and searched
    with_one_face: int
    person_check: str | None  # how frames were matched to the photos (``identity``), or None

    @property
    def yaw_range_deg(self) -> tuple[float, float]:
        yaws = [f.score.yaw_deg for f in self.frames]
        return min(yaws), max(yaws)


@dataclass
class _Candidate:
    time_s: float
    image: np.ndarray
    landmarks_px: np.ndarray
    score: FrameScore


def choose_frames(path: Path, *, model: MorphableModel, photos: Sequence[Detection] = (),
                  max_frames: int = MAX_FRAMES, start_s: float = 0.0,
                  end_s: float | None = None) -> ClipFrames:
    """Choose up to ``max_frames`` frames of the video at ``path`` to build the avatar from.

    Parameters
    ----------
    path : Path
        The video; only read.
    model : MorphableModel
        Its landmarks give the frames' head yaw.
    photos : sequence of Detection
        Photos of the person, when given too: only frames of the same person are kept.
    max_frames : int
        At most this many frames are chosen.
    start_s, end_s : float
        Only this part of the clip is looked at (seconds; ``end_s`` None: to the end).

    Raises
    ------
    InputError
        Naming the video: it can't be read, is under a second long, shows no face, shows two or
        more people in most frames, only faces too small to use, or someone other than the
        person in ``photos``.
    """
    path = Path(path)
    info = probe_clip(path)
    end = info.duration_s if end_s is None else min(end_s, info.duration_s)
    rate = min(SAMPLE_RATE_HZ, MAX_CANDIDATES / max(end - start_s, 1e-3))
    frames = read_frames(info, rate_hz=rate, start_s=start_s, end_s=end)
    faces = find_faces([image for _, image in frames])
    _refuse_unusable(path, faces, len(frames))
    template = _yaw_template(model)
    candidates = [_Candidate(t, image, found[0], _score(found[0], image, t, template))
                  for (t, image), found in zip(frames, faces)
                  if len(found) == 1 and _width(found[0]) >= MIN_VIDEO_FACE_PX]
    with_one_face = len(candidates)
    if with_one_face < MIN_FACE_FRAMES:
        raise InputError(f"A face was found in only {with_one_face} of the {len(frames)} frames "
                         f"looked at in the video {path}.",
                         "Use a video where the person's face is in view, alone, for at least a "
                         "second.")
    candidates = _relative_sharpness(candidates)
    check = None
    if photos:
        candidates, check = _same_person(path, candidates, photos)
    open_eyes = [c for c in candidates if c.score.eyes_open >= BLINK_LIMIT]
    chosen = _choose(open_eyes or candidates, max_frames)
    log.info("%s: %d frames chosen of %d looked at (yaw %+.0f..%+.0f degrees).", path.name,
             len(chosen), len(frames), min(c.score.yaw_deg for c in chosen),
             max(c.score.yaw_deg for c in chosen))
    return ClipFrames(info, _upscaled(path, chosen), len(frames), with_one_face, check)


def head_yaw_deg(landmarks_px: np.ndarray, template_m: np.ndarray, points: np.ndarray) -> float:
    """The head's yaw in degrees: positive when the face turns toward its own left (+X).

    Parameters
    ----------
    landmarks_px : np.ndarray [shape=(478, 3)]
        mediapipe's landmarks (x right, y down, z smaller nearer the camera).
    template_m : np.ndarray [shape=(478, 3)]
        The same landmarks on a frontal face (+Y up, looking toward +Z).
    points : np.ndarray [shape=(P,)]
        The landmarks to align on.
    """
    seen = np.asarray(landmarks_px, dtype=np.float64)[points] * np.array([1.0, -1.0, -1.0])
    model = np.asarray(template_m, dtype=np.float64)[points]
    seen, model = seen - seen.mean(0), model - model.mean(0)
    u, _, vt = np.linalg.svd(seen.T @ model)
    rotation = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    facing = rotation @ np.array([0.0, 0.0, 1.0])
    return float(np.degrees(np.arctan2(facing[0], facing[2])))


def eyes_open(landmarks_px: np.ndarray) -> float:
    """0 (closed) .. 1 (open): the lids' mean distance over the eye's width, both eyes."""
    points = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    apertures = []
    for (outer, inner), lids in EYES:
        width = max(float(np.linalg.norm(points[outer] - points[inner])), 1e-9)
        apertures.append(np.mean([np.linalg.norm(points[a] - points[b]) for a, b in lids]) / width)
    return float(np.clip((np.mean(apertures) - EYES_CLOSED) / (EYES_OPEN - EYES_CLOSED), 0.0, 1.0))


def sharpness(image: np.ndarray, landmarks_px: np.ndarray) -> float:
    """The variance of the Laplacian of the face, cropped square and resized to
    ``SHARPNESS_CROP_PX`` (grey levels 0..255)."""
    import cv2

    points = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    low, high = points.min(0), points.max(0)
    centre, half = (low + high) / 2.0, max(float((high - low).max()) / 2.0, 4.0)
    height, width = image.shape[:2]
    x0, y0 = (max(int(v), 0) for v in centre - half)
    x1, y1 = int(min(centre[0] + half, width)), int(min(centre[1] + half, height))
    crop = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    size = (SHARPNESS_CROP_PX, SHARPNESS_CROP_PX)
    shrink = crop.shape[0] > SHARPNESS_CROP_PX
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return float(cv2.Laplacian(crop.astype(np.float64), cv2.CV_64F).var())


def _refuse_unusable(path: Path, faces: list[list[np.ndarray]], looked_at: int) -> None:
    """InputError when no frame shows one face of a usable size."""
    with_face = [found for found in faces if found]
    if not with_face:
        raise InputError(f"No face was found in the video {path} ({looked_at} frames looked at).",
                         "Use a video where the person's face is clearly visible, turned less "
                         "than about 45 degrees from the camera, and not covered.")
    several = sum(len(found) >= 2 for found in with_face)
    if several > SEVERAL_PEOPLE_SHARE * len(with_face):
        most = max(len(found) for found in with_face)
        raise InputError(f"The video {path} shows {most} people at once in most of its frames "
                         f"({several} of {len(with_face)}).",
                         "Revive builds one person: trim the video to a part where only they are "
                         "in view, or add a photo of them (then only their frames are used).")
    single = [found[0] for found in with_face if len(found) == 1]
    if single and max(_width(f) for f in single) < MIN_VIDEO_FACE_PX:
        raise InputError(f"The face in the video {path} is at most "
                         f"{max(_width(f) for f in single):.0f} pixels wide.",
                         f"Revive needs at least {MIN_VIDEO_FACE_PX}; use a video taken closer "
                         "to the person, or at a higher resolution.")


def _score(landmarks_px: np.ndarray, image: np.ndarray, time_s: float,
           template: tuple[np.ndarray, np.ndarray]) -> FrameScore:
    """The frame's score with its raw sharpness (made relative by ``_relative_sharpness``)."""
    return FrameScore(time_s=time_s, face_width_px=_width(landmarks_px),
                      sharpness=sharpness(image, landmarks_px), eyes_open=eyes_open(landmarks_px),
                      yaw_deg=head_yaw_deg(landmarks_px, *template), score=0.0)


def _relative_sharpness(candidates: list[_Candidate]) -> list[_Candidate]:
    """Sharpness over the sharpest candidate's, and the score that follows."""
    best = max((c.score.sharpness for c in candidates), default=0.0)
    for c in candidates:
        relative = c.score.sharpness / best if best > 0 else 1.0
        c.score = dataclasses.replace(
            c.score, sharpness=relative,
            score=(0.3 + 0.7 * relative) * (0.5 + 0.5 * c.score.eyes_open))
    return candidates


def _same_person(path: Path, candidates: list[_Candidate],
                 photos: Sequence[Detection]) -> tuple[list[_Candidate], str]:
    """The candidates showing the person in ``photos``; InputError when none does."""
    matcher = face_matcher(photos)
    for c in candidates:
        distance = matcher.distance(c.image, c.landmarks_px)
        c.score = dataclasses.replace(c.score, person_distance=distance)
    same = [c for c in candidates if c.score.person_distance <= matcher.threshold]
    if not same:
        nearest = min(c.score.person_distance for c in candidates)
        names = ", ".join(p.path.name for p in photos)
        raise InputError(f"The person in the video {path} does not look like the person in "
                         f"{names} (face {matcher.method} distance {nearest:.2f} at the closest; "
                         f"the same person is within {matcher.threshold:g}).",
                         "Check that the video and the photos show the same person: leave out "
                         "the photos that show someone else, or build from the video alone.")
    log.info("%s: %d of %d frames show the person in the photos (by face %s).", path.name,
             len(same), len(candidates), matcher.method)
    return same, matcher.method


def _choose(candidates: list[_Candidate], max_frames: int) -> list[_Candidate]:
    """The best candidate of each yaw bin, then the best of the rest; no near-duplicates."""
    ranked = sorted(candidates, key=lambda c: c.score.score, reverse=True)
    chosen: list[_Candidate] = []
    bins = np.digitize([c.score.yaw_deg for c in ranked], YAW_BIN_EDGES_DEG)
    for yaw_bin in sorted(set(bins.tolist()), key=lambda b: abs(b - len(YAW_BIN_EDGES_DEG) / 2)):
        in_bin = [c for c, b in zip(ranked, bins) if b == yaw_bin]
        best = next((c for c in in_bin if not _duplicate(c, chosen)), None)
        if best is not None and len(chosen) < max_frames:
            chosen.append(best)
    for c in ranked:
        if len(chosen) >= max_frames:
            break
        if c not in chosen and not _duplicate(c, chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda c: c.score.score, reverse=True)


def _duplicate(candidate: _Candidate, chosen: list[_Candidate]) -> bool:
    shape = _normalised(candidate.landmarks_px)
    return any(np.linalg.norm(shape - _normalised(c.landmarks_px), axis=1).mean() < DUPLICATE_SHAPE
               for c in chosen)


def _normalised(landmarks_px: np.ndarray) -> np.ndarray:
    """(468, 2) landmarks centred and divided by the face's width."""
    points = np.asarray(landmarks_px, dtype=np.float64)[:468, :2]
    return (points - points.mean(0)) / max(_width(points), 1e-9)


def _upscaled(path: Path, chosen: list[_Candidate]) -> list[ChosenFrame]:
    """The chosen frames as Detections, small faces scaled up and their landmarks found again."""
    factors = [min(MAX_UPSCALE, max(1, math.ceil(UPSCALED_FACE_PX / c.score.face_width_px)))
               for c in chosen]
    images = [c.image if k == 1 else np.asarray(Image.fromarray(c.image).resize(
        (c.image.shape[1] * k, c.image.shape[0] * k), Image.LANCZOS))
        for c, k in zip(chosen, factors)]
    found = find_faces(images)
    frames = []
    for c, k, image, faces in zip(chosen, factors, images, found):
        landmarks = faces[0] if len(faces) == 1 else c.landmarks_px * k
        detection = Detection(path=Path(f"{path.name}@{c.time_s:.2f}s"), image=image,
                              landmarks_px=landmarks, face_width_px=_width(landmarks),
                              faces_found=1)
        frames.append(ChosenFrame(c.score, c.image, detection, k))
    return frames


def _yaw_template(model: MorphableModel) -> tuple[np.ndarray, np.ndarray]:
    """The model's mean landmarks and the rigid ones (on the mesh, not lips, brows or eyes)."""
    template, on_mesh = model.landmarks(model.vertices_m)
    points = np.array([i for i in rigid_points() if on_mesh[i]])
    return template, points


def _width(landmarks_px: np.ndarray) -> float:
    return float(np.ptp(np.asarray(landmarks_px)[:, 0]))
