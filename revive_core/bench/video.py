"""``revive bench video``: is an avatar built from a video's frames closer to the person than
one built from its single best frame?

The clip's last ``holdout`` share of its duration (25% by default) is never seen by a build:
its frames are the "unseen" views. From the first part, ``frames.choose_frames`` chooses the
frames ``revive build CLIP`` would; two avatars are built from them, through the photo path
(the frames scaled up as the video build scales them, written to ``OUT/frames/<mode>/``):

- ``one frame``: the best-scored frame alone;
- ``video``: all the chosen frames, fitted together as one identity.

Measured per mode: frames used; build time (choosing the frames included); the median dlib
face-descriptor distance (see ``descriptor``; below 0.6: the same person) of the neutral head
rendered from the front (``likeness.render_views``'s ``frontal.png``) to the held-out frames;
the landmark error on the held-out frames: the avatar's neutral landmarks on the parts of the
face an expression moves little (``identity.rigid_points``), posed by PnP onto each held-out
frame's mediapipe landmarks, the median distance in % of the face's width (what is left is
the face's shape, the pose having been fitted); and the yaw range the frames cover (degrees,
positive: turned toward the face's own left). The yardstick row: the chosen frames
themselves, described like the renders, against the held-out frames.
"""
from __future__ import annotations

import argparse
import io
import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from revive_core.errors import InputError

__all__ = ["add_bench", "run_video_bench", "format_table"]

log = logging.getLogger(__name__)

HOLDOUT = 0.25
HELD_OUT_RATE_HZ = 8.0
BENCH_CONSENT = "Revive video benchmark (test clip, evaluation only), evaluation, 2026-12-04"
MODES = ("one frame", "video")


def add_bench(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "video", help="avatars from a video's frames vs from its best frame, on held-out frames")
    p.add_argument("--clip", required=True, type=Path, metavar="CLIP",
                   help="a video of one person (MP4, MOV, M4V, WebM, 3GP), at least 2 s long")
    p.add_argument("--out", type=Path, default=None, metavar="OUT",
                   help="keep the frames, avatars and renders here (default: a temporary folder)")
    p.add_argument("--holdout", type=float, default=HOLDOUT, metavar="0..1",
                   help="the share of the clip, at its end, kept unseen (default 0.25)")
    p.add_argument("--model", default="default",
                   help="face model to build with: default, builtin, ict, or a model folder")
    p.add_argument("--texture-method", default="delit", choices=("gan", "delit", "blur"),
                   help="as `revive build --texture-method` (default delit: the GAN is slower and "
                        "the descriptor sees the same skin either way)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> None:
    from revive_core.formats.storage import atomic_write_bytes, dumps_json

    if args.out is None:
        with tempfile.TemporaryDirectory(prefix="revive-bench-video-") as folder:
            report = run_video_bench(args.clip, Path(folder), holdout=args.holdout,
                                     model=args.model, texture_method=args.texture_method)
    else:
        report = run_video_bench(args.clip, args.out, holdout=args.holdout, model=args.model,
                                 texture_method=args.texture_method)
    print(format_table(report))
    if args.json is not None:
        atomic_write_bytes(args.json, dumps_json(report))
        log.info("Wrote %s", args.json)


def run_video_bench(clip: Path, out: Path, *, holdout: float = HOLDOUT, model: str = "default",
                    texture_method: str = "delit") -> dict:
    """Build from one frame and from the chosen frames of ``clip``'s first part; measure both
    on its held-out end.

    Parameters
    ----------
    clip : Path
        A video of one person.
    out : Path
        Frames go to ``out/frames/<mode>/``, avatars to ``out/avatars/<mode>/``, the frontal
        renders to ``out/renders/<mode>.png``.
    holdout : float
        The share of the clip's duration, at its end, that no build sees (0.1 .. 0.5).
    model, texture_method : str
        As ``revive build --model`` and ``--texture-method``.

    Returns
    -------
    dict
        ``clip``, ``duration_s``, ``seen_s``, ``held_out_frames`` (with a face dlib found),
        ``texture_method``, ``modes`` (per mode: ``frames``, ``build_seconds``,
        ``descriptor_distance``, ``landmark_error_percent``, ``yaw_deg`` [min, max]) and
        ``yardstick`` (the chosen frames' own median descriptor distance to the held-out ones).
    """
    from revive_core.avatar.clip import probe_clip, read_frames
    from revive_core.avatar.frames import choose_frames
    from revive_core.avatar.model.registry import find_model
    from revive_core.bench.descriptor import FaceDescriber

    if not 0.1 <= holdout <= 0.5:
        raise InputError(f"--holdout {holdout} must be between 0.1 and 0.5.",
                         "For example: --holdout 0.25")
    describer = FaceDescriber()  # before the long builds: says at once if dlib is missing
    info = probe_clip(clip)
    seen_s = info.duration_s * (1.0 - holdout)
    face_model = find_model(model)
    started = time.perf_counter()
    chosen = choose_frames(clip, model=face_model, end_s=seen_s)
    choosing_s = time.perf_counter() - started
    held_out = _held_out(read_frames(info, rate_hz=HELD_OUT_RATE_HZ, start_s=seen_s), clip)
    held_out_descriptors = [d for d in (describer.describe(f.image) for f in held_out)
                            if d is not None]
    if not held_out_descriptors:
        raise InputError(f"dlib found no face in the held-out end of {clip}.",
                         "Use a clip whose last quarter shows the face clearly, or a larger "
                         "--holdout.")
    best = max(chosen.frames, key=lambda f: f.score.score)
    modes = {"one frame": [best], "video": list(chosen.frames)}
    report_modes = {}
    for mode, frames in modes.items():
        log.info("Building from %s (%d frame%s)", mode, len(frames), "s" * (len(frames) > 1))
        report_modes[mode] = _measure_mode(mode, frames, Path(out), face_model, texture_method,
                                           choosing_s, describer, held_out_descriptors, held_out)
    seen_descriptors = [d for d in (describer.describe(f.detection.image) for f in chosen.frames)
                        if d is not None]
    return {"clip": str(clip), "duration_s": round(info.duration_s, 3),
            "seen_s": round(seen_s, 3), "held_out_frames": len(held_out_descriptors),
            "model": face_model.model_id, "texture_method": texture_method,
            "modes": report_modes,
            "yardstick": _median_distance(seen_descriptors, held_out_descriptors)}


def _held_out(frames: list[tuple[float, np.ndarray]], clip: Path) -> list:
    """The held-out frames with one face, as Detections (small faces scaled up, like a build)."""
    from revive_core.avatar.detect import Detection, find_faces
    from revive_core.avatar.frames import MAX_UPSCALE, UPSCALED_FACE_PX

    found = find_faces([image for _, image in frames])
    held = [(t, image, faces[0]) for (t, image), faces in zip(frames, found) if len(faces) == 1]
    scaled = []
    for t, image, landmarks in held:
        factor = min(MAX_UPSCALE, max(1, math.ceil(UPSCALED_FACE_PX / np.ptp(landmarks[:, 0]))))
        big = np.asarray(Image.fromarray(image).resize(
            (image.shape[1] * factor, image.shape[0] * factor), Image.LANCZOS))
        scaled.append((t, big, landmarks * factor))
    return [Detection(path=Path(f"{clip.name}@{t:.2f}s"), image=image, landmarks_px=landmarks,
                      face_width_px=float(np.ptp(landmarks[:, 0])), faces_found=1)
            for t, image, landmarks in scaled]


def _measure_mode(mode: str, frames: list, out: Path, face_model, texture_method: str,
                  choosing_s: float, describer, held_out_descriptors: list[np.ndarray],
                  held_out: list) -> dict:
    """Build one mode's avatar from ``frames`` (written as PNGs) and measure it."""
    from revive_core.avatar.build import build_avatar
    from revive_core.avatar.consent import parse_consent
    from revive_core.bench.likeness import render_views
    from revive_core.formats import read_avatar
    from revive_core.formats.storage import atomic_write_bytes

    slug = mode.replace(" ", "-")
    photos = []
    for number, frame in enumerate(frames, 1):
        path = out / "frames" / slug / f"frame_{number:02d}.png"
        atomic_write_bytes(path, _png(frame.detection.image))
        photos.append(path)
    started = time.perf_counter()
    build_avatar(photos, out / "avatars" / slug, consent=parse_consent(BENCH_CONSENT),
                 name=f"bench video {mode}", model=face_model, texture_method=texture_method,
                 step=lambda text: log.debug("  %s", text))
    seconds = time.perf_counter() - started + choosing_s
    avatar = read_avatar(out / "avatars" / slug)
    frontal = render_views(avatar)["frontal"]
    atomic_write_bytes(out / "renders" / f"{slug}.png", _png(frontal))
    descriptor = describer.describe(frontal)
    yaws = [frame.score.yaw_deg for frame in frames]
    return {"frames": len(frames), "build_seconds": round(seconds, 2),
            "descriptor_distance": (None if descriptor is None else
                                    _median_distance([descriptor], held_out_descriptors)),
            "landmark_error_percent": _landmark_error(avatar, held_out),
            "yaw_deg": [round(min(yaws), 1), round(max(yaws), 1)]}


def _landmark_error(avatar, held_out: list) -> float | None:
    """Median distance (% of the face's width) of the avatar's rigid neutral landmarks, posed
    by PnP onto each held-out frame, from that frame's landmarks."""
    import cv2

    from revive_core.avatar.identity import rigid_points
    from revive_core.avatar.model.morphable import embedded_points
    from revive_core.geometry.camera import Camera

    points_m, on_mesh = embedded_points(avatar.vertices_m.astype(np.float64), avatar.faces,
                                        avatar.landmark_faces, avatar.landmark_bary)
    used = np.array([i for i in rigid_points() if on_mesh[i]])
    flip = np.diag([1.0, -1.0, -1.0])  # OpenCV's camera looks down +Z with y down
    errors = []
    for detection in held_out:
        camera = Camera.for_photo(*detection.size)
        k = np.array([[camera.focal_px, 0, camera.cx], [0, camera.focal_px, camera.cy],
                      [0, 0, 1.0]])
        target = detection.landmarks_px[used, :2].astype(np.float64)
        model = points_m[used] @ flip.T
        ok, rvec, tvec = cv2.solvePnP(model, target, k, None, flags=cv2.SOLVEPNP_EPNP)
        if not ok:
            continue
        ok, rvec, tvec = cv2.solvePnP(model, target, k, None, rvec, tvec, useExtrinsicGuess=True,
                                      flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok:
            continue
        projected, _ = cv2.projectPoints(model, rvec, tvec, k, None)
        distance = np.linalg.norm(projected[:, 0] - target, axis=1).mean()
        errors.append(100.0 * distance / detection.face_width_px)
    return round(float(np.median(errors)), 3) if errors else None


def _median_distance(descriptors: list[np.ndarray], others: list[np.ndarray]) -> float | None:
    from revive_core.bench.descriptor import descriptor_distance

    distances = [descriptor_distance(a, b) for a in descriptors for b in others]
    return round(float(np.median(distances)), 4) if distances else None


def format_table(report: dict) -> str:
    """The printed report: one row per mode and the yardstick."""
    lines = [f"Video vs one frame: {Path(report['clip']).name} ({report['duration_s']:.1f} s; "
             f"built from the first {report['seen_s']:.1f} s, measured on "
             f"{report['held_out_frames']} held-out frames after it); model {report['model']}, "
             f"texture {report['texture_method']}",
             f"{'mode':<11}{'frames':>7}{'build s':>9}{'descriptor':>12}{'landmark %':>12}"
             f"{'yaw range deg':>19}"]
    for mode in MODES:
        row = report["modes"][mode]
        low, high = row["yaw_deg"]
        lines.append(f"{mode:<11}{row['frames']:>7}{row['build_seconds']:>9.1f}"
                     f"{_text(row['descriptor_distance']):>12}"
                     f"{_text(row['landmark_error_percent'], 2):>12}"
                     f"{f'{low:+.1f}..{high:+.1f} ({high - low:.1f})':>19}")
    lines += [f"{'frames':<11}{'':>16}{_text(report['yardstick']):>12}   (yardstick: the "
              "chosen frames themselves against the held-out ones)",
              "descriptor: median dlib distance of the frontal render (neutral head) to the "
              "held-out frames, same person below 0.6; landmark %: median error of the rigid "
              "landmarks posed by PnP on the held-out frames, in % of the face's width; build s "
              "includes choosing the frames."]
    return "\n".join(lines)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _text(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
