"""``revive bench likeness``: does the avatar built from one real photo look like the person?

``--photos DIR`` holds one folder per person: ``a.jpg``, the photo the avatar is built from, and
any other photos of that person, which the build never sees. Per person the bench builds an
avatar from ``a.jpg`` alone (into ``OUT/avatars/<person>/``; its build time goes to
``OUT/builds/<person>.json``, and the avatar is reused while ``a.jpg``, the model and the texture
method are unchanged) and renders it with pyrender, alone over a grey background, 512 x 512, the
head filling about 60% of the frame height (``OUT/renders/<person>/``):

- ``photo.png``: from the viewpoint and with the expression the fit found for ``a.jpg``;
- ``frontal.png``, ``yaw-30.png``, ``yaw+30.png``: the neutral head (no blendshapes), seen from
  the front, turned 30 degrees to its right and to its left.

Measured per render, with dlib's face descriptor (see ``descriptor``; below 0.6 apart: the same
person): the distance to ``a.jpg``, the median distance to the person's unseen photos, the
distance to the nearest photo of anyone else, and rank-1 identification (is the nearest of all
the photos one of this person's?). Per render too, from mediapipe's 478 landmarks on the render
and on ``a.jpg``: the ratio of the eye aperture (lid distance over eye width) and of the iris
diameter (over eye width), render over photo. And per person, the reprojection: ``photo.png``
unframed (the fitted camera, at the photo's resolution) against ``a.jpg``, PSNR and SSIM over
the face-region triangles the camera sees. ``a.jpg`` itself, measured like a render against the
unseen photos, is the yardstick.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from revive_core.avatar.model import MorphableModel
from revive_core.bench.texture import Light, psnr, render_textured, ssim
from revive_core.errors import InputError
from revive_core.geometry.offscreen import OffscreenRenderer

__all__ = ["add_bench", "run_likeness", "find_people", "render_views", "eye_measures",
           "format_tables", "Person"]

log = logging.getLogger(__name__)

SEEN_PHOTO = "a.jpg"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
RENDER_SIZE = 512
HEAD_FILL = 0.6  # the head's height (chin to crown) as a share of the frame height
CHIN_LANDMARK = 152  # mediapipe's chin point
VIEW_DISTANCE_M = 1.0  # from the camera to the head's centre, in the frontal and turned views
VIEW_YAWS_DEG = {"frontal": 0.0, "yaw-30": -30.0, "yaw+30": 30.0}
RENDERS = ("photo", *VIEW_YAWS_DEG)
# A soft key from the front and above (camera frame: +Y up, +Z toward the viewer), plus ambient.
KEY_LIGHT = Light(0.4, np.array([[0.0, 0.45, 1.0]]) / np.linalg.norm([0.0, 0.45, 1.0]),
                  np.array([0.6]))
INTERIOR_KINDS = ("mouth", "teeth", "gums")  # texture.regions.region_kinds: hidden inside the head
BENCH_CONSENT = "Revive likeness benchmark (test photos, evaluation only), evaluation, 2026-12-04"
# mediapipe's 478 landmarks: eye corners, three lid pairs (upper, lower) and the iris rings.
EYES = ({"corners": (33, 133), "lids": ((159, 145), (158, 153), (160, 144))},
        {"corners": (263, 362), "lids": ((386, 374), (385, 380), (387, 373))})
IRISES = (range(468, 473), range(473, 478))  # centre, then four points on the rim


@dataclass(frozen=True)
class Person:
    """One person's photos: ``seen`` builds the avatar, ``unseen`` only measures it."""

    name: str
    seen: Path
    unseen: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Recipe:
    """How the avatars are built."""

    model: MorphableModel
    texture_method: str


class _Mesh(NamedTuple):
    """The parts of a mesh ``render_textured`` reads."""

    faces: np.ndarray
    uvs: np.ndarray
    uv_faces: np.ndarray


def add_bench(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "likeness", help="face-descriptor likeness of avatars built from one real photo each")
    p.add_argument("--photos", required=True, type=Path, metavar="DIR",
                   help="one folder per person: a.jpg (built from) and other photos (unseen)")
    p.add_argument("--out", required=True, type=Path, metavar="OUT",
                   help="where the avatars (OUT/avatars) and renders (OUT/renders) go")
    p.add_argument("--model", default="default",
                   help="face model to build with: default, builtin, ict, or a model folder")
    p.add_argument("--texture-method", default="gan", choices=("gan", "delit", "blur"),
                   help="as `revive build --texture-method` (gan, the default, is the slowest)")
    p.add_argument("--rebuild", action="store_true",
                   help="build every avatar again, even where one from the same a.jpg, model and "
                        "texture method exists")
    p.add_argument("--json", type=Path, default=None, metavar="FILE")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> None:
    from revive_core.formats.storage import atomic_write_bytes, dumps_json

    report = run_likeness(args.photos, args.out, model=args.model,
                          texture_method=args.texture_method, rebuild=args.rebuild)
    print(format_tables(report))
    if args.json is not None:
        atomic_write_bytes(args.json, dumps_json(report))
        log.info("Wrote %s", args.json)


def run_likeness(photos: Path, out: Path, *, model: str = "default", texture_method: str = "gan",
                 rebuild: bool = False) -> dict:
    """Build, render and measure every person in ``photos``; returns the JSON-ready report.

    Parameters
    ----------
    photos : Path
        One folder per person (see ``find_people``).
    out : Path
        Avatars go to ``out/avatars/<person>/``, renders to ``out/renders/<person>/``.
    model : str
        The face model to build with (as ``revive build --model``).
    texture_method : str
        ``gan``, ``delit`` or ``blur`` (as ``revive build --texture-method``).
    rebuild : bool
        Build again even where an avatar from the same ``a.jpg``, model and texture method
        exists.

    Returns
    -------
    dict
        ``people`` (one entry per person: build seconds and whether the avatar was reused, per
        render its distances, rank-1 and eye ratios, the reprojection scores), ``yardstick`` (``a.jpg`` measured like a render),
        ``summary`` (per render the medians, rank-1 % and faces not found) and
        ``photos_without_face``.
    """
    from revive_core.avatar.model.registry import find_model
    from revive_core.bench.descriptor import SAME_PERSON_DISTANCE, FaceDescriber

    people = find_people(photos)
    describer = FaceDescriber()  # before the long builds: says at once if dlib is missing
    log.info("Describing the %d photos of %d people", sum(1 + len(p.unseen) for p in people),
             len(people))
    descriptors = _photo_descriptors(people, describer)
    missing = sorted(str(path) for path, d in descriptors.items() if d is None)
    for path in missing:
        log.warning("dlib found no face in %s; it is left out of the distances", path)
    recipe = _Recipe(find_model(model), texture_method)
    entries = []
    for number, person in enumerate(people, 1):
        log.info("%s (%d of %d)", person.name, number, len(people))
        entries.append(_measure_person(person, Path(out), recipe, rebuild, describer,
                                       descriptors))
    yardstick = [_yardstick(person, descriptors) for person in people]
    return {"photos": str(photos), "model": recipe.model.model_id,
            "texture_method": texture_method,
            "same_person_distance": SAME_PERSON_DISTANCE, "people": entries,
            "yardstick": yardstick, "summary": _summary(entries, yardstick),
            "photos_without_face": missing}


def find_people(folder: Path) -> list[Person]:
    """The people in ``folder``: each sub-folder with ``a.jpg``, sorted by name.

    Files beside the sub-folders are skipped; photos are ``.jpg``, ``.jpeg`` and ``.png`` files.

    Raises
    ------
    InputError
        If ``folder`` is not a folder, holds no sub-folder, or a sub-folder has no ``a.jpg``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"The photos folder {folder} does not exist or is not a folder.",
                         "Give a folder with one sub-folder per person, each with a.jpg.")
    people = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        seen = sub / SEEN_PHOTO
        if not seen.is_file():
            raise InputError(f"{sub} has no {SEEN_PHOTO}, the photo to build the avatar from.",
                             f"Put that person's best photo there as {SEEN_PHOTO}, or move the "
                             "folder out.")
        unseen = sorted(p for p in sub.iterdir() if p.is_file() and p.name != SEEN_PHOTO
                        and p.suffix.lower() in PHOTO_SUFFIXES and not p.name.startswith("."))
        people.append(Person(sub.name, seen, unseen))
    if not people:
        raise InputError(f"The photos folder {folder} holds no person's folder.",
                         f"Make one sub-folder per person, each with {SEEN_PHOTO} and any other "
                         "photos of that person.")
    return people


def render_views(avatar) -> dict[str, np.ndarray]:
    """The four renders (``RENDERS``) of ``avatar``, each (512, 512, 3) uint8.

    ``photo``: the portrait's viewpoint and expression, reframed (focal length and principal
    point only) so the head fills ``HEAD_FILL`` of the height with its centre in the middle.
    The others: the neutral head at ``VIEW_DISTANCE_M``, turned by ``VIEW_YAWS_DEG`` about the
    vertical axis through its centre (positive: toward +X, the head's left).
    """
    from revive_core.geometry.camera import Camera

    albedo = _albedo(avatar)
    mesh = _Mesh(avatar.faces, avatar.uvs, avatar.uv_faces)
    head = _head_mask(avatar)
    face = avatar.vertex_regions == avatar.region_names.index("face")
    portrait = Camera.from_dict(avatar.portrait)
    posed = avatar.shape(avatar.portrait.get("expression", {}))
    shots = {"photo": (posed, _framed(portrait.rotation, portrait.translation, posed[head],
                                      _centre(posed[face])))}
    neutral = avatar.vertices_m.astype(np.float64)
    centre = _centre(neutral[face])
    focal = None
    for name, yaw in VIEW_YAWS_DEG.items():
        rotation = _yaw_matrix(yaw)
        translation = -rotation @ centre - [0.0, 0.0, VIEW_DISTANCE_M]
        camera = _framed(_rotation_vector(rotation), translation, neutral[head], centre,
                         focal_px=focal)
        focal = camera.focal_px  # the frontal view's, kept: the turned head is not re-zoomed
        shots[name] = (neutral, camera)
    # One renderer open at a time: deleting a pyrender renderer ends the EGL display that
    # every open one shares.
    with OffscreenRenderer(RENDER_SIZE, RENDER_SIZE) as renderer:
        return {name: render_textured(renderer, vertices, mesh, albedo, camera, KEY_LIGHT)[0]
                for name, (vertices, camera) in shots.items()}


def eye_measures(landmarks_px: np.ndarray) -> tuple[float, float]:
    """Eye aperture and iris diameter, each over the eye's width, both eyes averaged.

    Parameters
    ----------
    landmarks_px : np.ndarray [shape=(478, 2 or 3)]
        mediapipe's refined face mesh, pixels.

    Returns
    -------
    aperture, iris : float
        Mean lid distance (three upper/lower pairs) and mean iris diameter (its horizontal and
        vertical spans), each divided by the distance between the eye's corners.
    """
    points = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    apertures, irises = [], []
    for eye in EYES:
        corners = points[list(eye["corners"])]
        width = max(float(np.linalg.norm(corners[0] - corners[1])), 1e-9)
        lids = [np.linalg.norm(points[up] - points[down]) for up, down in eye["lids"]]
        apertures.append(float(np.mean(lids)) / width)
        # The iris whose centre is nearest this eye's middle (mediapipe's order is per image).
        iris = min(IRISES, key=lambda r: np.linalg.norm(points[r[0]] - corners.mean(0)))
        rim = points[list(iris)[1:]]
        diameter = 0.5 * (np.linalg.norm(rim[0] - rim[2]) + np.linalg.norm(rim[1] - rim[3]))
        irises.append(float(diameter) / width)
    return float(np.mean(apertures)), float(np.mean(irises))


def _photo_descriptors(people: list[Person], describer) -> dict[Path, np.ndarray | None]:
    from revive_core.avatar.detect import load_photo

    return {path: describer.describe(load_photo(path))
            for person in people for path in (person.seen, *person.unseen)}


def _measure_person(person: Person, out: Path, recipe: _Recipe, rebuild: bool, describer,
                    descriptors: dict) -> dict:
    """Build (or reuse) one person's avatar, write its renders and measure them."""
    from revive_core.avatar.detect import detect_face, load_photo
    from revive_core.errors import ReviveError
    from revive_core.formats import read_avatar
    from revive_core.formats.storage import atomic_write_bytes

    record, reused = _build(person, out, recipe, rebuild)
    log.info("  %s in %.1f s", "reused, built earlier" if reused else f"built from {SEEN_PHOTO}",
             record["seconds"])
    avatar = read_avatar(out / "avatars" / person.name)
    folder = out / "renders" / person.name
    photo_eyes = eye_measures(detect_face(person.seen).landmarks_px)
    renders = {}
    for name, image in render_views(avatar).items():
        path = folder / f"{name}.png"
        atomic_write_bytes(path, _png(image))
        row = _identify(describer.describe(image), person, descriptors)
        try:
            eyes = eye_measures(detect_face(path).landmarks_px)
            row["eye_aperture_ratio"] = _ratio(eyes[0], photo_eyes[0])
            row["iris_ratio"] = _ratio(eyes[1], photo_eyes[1])
        except ReviveError:
            log.warning("  mediapipe found no face in %s: no eye ratios", path)
            row["eye_aperture_ratio"] = row["iris_ratio"] = None
        renders[name] = row
    psnr_db, ssim_value = _reprojection(avatar, load_photo(person.seen))
    log.info("  seen %s, unseen %s, reprojection %.2f dB", _text(renders["frontal"]["seen"]),
             _text(renders["frontal"]["unseen"]), psnr_db)
    return {"person": person.name, "build_seconds": round(record["seconds"], 2), "reused": reused,
            "renders": renders, "reprojection": {"psnr_db": _round(psnr_db, 2),
                                                 "ssim": _round(ssim_value)}}


def _build(person: Person, out: Path, recipe: _Recipe, rebuild: bool) -> tuple[dict, bool]:
    """Build ``person``'s avatar from ``a.jpg`` into ``out/avatars/<person>`` unless the one
    there is from the same photo and ``recipe``; returns its build record and whether reused."""
    from revive_core.avatar.build import build_avatar
    from revive_core.avatar.consent import parse_consent
    from revive_core.formats.storage import atomic_write_bytes, dumps_json

    folder, record_path = out / "avatars" / person.name, out / "builds" / f"{person.name}.json"
    wanted = {"photo_sha256": _sha256(person.seen), "model": recipe.model.model_id,
              "texture_method": recipe.texture_method}
    record = _read_record(record_path)
    if not rebuild and record is not None and _built_from(folder, record, wanted):
        return record, True
    started = time.perf_counter()
    build_avatar([person.seen], folder, consent=parse_consent(BENCH_CONSENT), name=person.name,
                 model=recipe.model, texture_method=recipe.texture_method,
                 step=lambda text: log.debug("  %s", text))
    record = {**wanted, "seconds": time.perf_counter() - started}
    atomic_write_bytes(record_path, dumps_json(record))
    return record, False


def _read_record(path: Path) -> dict | None:
    """A build record written by ``_build``, or None where there is none readable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("seconds"), float) else None


def _built_from(folder: Path, record: dict, wanted: dict) -> bool:
    """Whether ``folder`` holds an avatar with a portrait, built from the one photo ``wanted``
    names (its SHA-256 in the avatar's provenance) the way ``wanted`` says."""
    if any(record.get(key) != value for key, value in wanted.items()):
        return False
    try:
        doc = json.loads((folder / "avatar.json").read_text(encoding="utf-8"))
        inputs = doc["provenance"]["inputs"]
        return (len(inputs) == 1 and inputs[0]["sha256"] == wanted["photo_sha256"]
                and doc["model"] == wanted["model"] and doc.get("portrait") is not None)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False


def _identify(descriptor: np.ndarray | None, person: Person, descriptors: dict) -> dict:
    """A render's (or photo's) distances to the photos, and whether it is identified."""
    from revive_core.bench.descriptor import descriptor_distance

    if descriptor is None:
        return {"face_found": False, "seen": None, "unseen": None, "nearest_other": None,
                "nearest_person": None, "rank1": False}
    own = {person.seen, *person.unseen}
    distances = {path: descriptor_distance(descriptor, d)
                 for path, d in descriptors.items() if d is not None}
    seen = distances.get(person.seen)
    unseen = [distances[p] for p in person.unseen if p in distances]
    others = {p: d for p, d in distances.items() if p not in own}
    nearest = min(distances, key=distances.get) if distances else None
    return {"face_found": True, "seen": _round(seen),
            "unseen": _round(float(np.median(unseen))) if unseen else None,
            "nearest_other": _round(min(others.values())) if others else None,
            "nearest_person": None if nearest is None else nearest.parent.name,
            "rank1": nearest in own}


def _yardstick(person: Person, descriptors: dict) -> dict:
    """``a.jpg`` measured like a render, against every photo but itself."""
    others = {p: d for p, d in descriptors.items() if p != person.seen}
    row = _identify(descriptors[person.seen], person, others)
    row.pop("seen")
    return {"person": person.name, **row}


def _reprojection(avatar, photo: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) and SSIM of the avatar, lit as in the renders, in the fitted camera against
    ``photo``, over the face-region triangles the camera sees."""
    from revive_core.geometry.camera import Camera

    camera = Camera.from_dict(avatar.portrait)
    height, width = photo.shape[:2]
    if (camera.width, camera.height) != (width, height):
        photo = np.asarray(Image.fromarray(photo).resize((camera.width, camera.height),
                                                         Image.LANCZOS))
    posed = avatar.shape(avatar.portrait.get("expression", {}))
    albedo = _albedo(avatar)
    face = avatar.region_names.index("face")
    face_triangles = (avatar.vertex_regions[avatar.faces] == face).all(1)
    with OffscreenRenderer(camera.width, camera.height) as renderer:
        whole = _Mesh(avatar.faces, avatar.uvs, avatar.uv_faces)
        image, depth = render_textured(renderer, posed, whole, albedo, camera, KEY_LIGHT)
        face_only = _Mesh(avatar.faces[face_triangles], avatar.uvs, avatar.uv_faces[face_triangles])
        _, face_depth = render_textured(renderer, posed, face_only, albedo, camera, KEY_LIGHT)
    # Visible face: covered by a face triangle that nothing else hides.
    mask = (face_depth > 0) & (face_depth <= depth + 1e-4)
    rendered, target = image / 255.0, photo[..., :3] / 255.0
    return psnr(rendered, target, mask), ssim(rendered, target, mask)


def _framed(rotation, translation, head_m: np.ndarray, centre_m: np.ndarray, *,
            focal_px: float | None = None):
    """A ``RENDER_SIZE`` square camera posed by ``rotation`` (a rotation vector) and
    ``translation``, its principal point putting ``centre_m`` in the middle of the frame and
    its focal length making ``head_m`` span ``HEAD_FILL`` of the height (unless given)."""
    from revive_core.geometry.camera import Camera

    rotvec = np.asarray(rotation, dtype=np.float64)
    posed = Camera.for_photo(RENDER_SIZE, RENDER_SIZE).posed(rotvec, translation)
    points = posed.to_camera(np.vstack([head_m, centre_m]))
    depth = -points[:, 2]
    slope_x, slope_y = points[:, 0] / depth, points[:, 1] / depth
    if focal_px is None:
        focal_px = HEAD_FILL * RENDER_SIZE / max(float(np.ptp(slope_y[:-1])), 1e-9)
    middle = RENDER_SIZE / 2.0
    return Camera(float(focal_px), middle - focal_px * slope_x[-1], middle + focal_px * slope_y[-1],
                  RENDER_SIZE, RENDER_SIZE, posed.rotation, posed.translation)


def _yaw_matrix(yaw_deg: float) -> np.ndarray:
    """(3, 3) rotation about +Y; positive turns +Z toward +X."""
    angle = np.radians(yaw_deg)
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rotation_vector(matrix: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(matrix).as_rotvec()


def _centre(points_m: np.ndarray) -> np.ndarray:
    """The centre of the bounding box of ``points_m`` (N, 3)."""
    return 0.5 * (points_m.min(0) + points_m.max(0))


def _head_mask(avatar) -> np.ndarray:
    """(V,) bool: the head from the chin up (not the neck and shoulders), seen from outside
    (not the mouth's inside)."""
    from revive_core.avatar.model.morphable import embedded_points
    from revive_core.avatar.texture.regions import region_kinds

    inside = [i for i, (name, kind) in enumerate(zip(avatar.region_names,
                                                     region_kinds(avatar.region_names)))
              if kind in INTERIOR_KINDS or "lining" in name]
    landmarks, _ = embedded_points(avatar.vertices_m.astype(np.float64), avatar.faces,
                                   avatar.landmark_faces, avatar.landmark_bary)
    above_chin = avatar.vertices_m[:, 1] >= landmarks[CHIN_LANDMARK, 1]
    return ~np.isin(avatar.vertex_regions, inside) & above_chin


def _albedo(avatar) -> np.ndarray:
    """The avatar's texture (S, S, 3), sRGB 0..1."""
    with Image.open(io.BytesIO(avatar.albedo_png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def _ratio(value: float, reference: float) -> float | None:
    return _round(value / reference) if reference > 0 else None


def _median(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return _round(float(np.median(present))) if present else None


def _summary(entries: list[dict], yardstick: list[dict]) -> dict:
    """Per render: medians over people, rank-1 % (a render with no face counts as missed),
    faces not found; and the reprojection and build-time medians."""
    summary = {}
    for name in RENDERS:
        rows = [entry["renders"][name] for entry in entries]
        summary[name] = _summary_row(rows)
        for key in ("eye_aperture_ratio", "iris_ratio"):
            summary[name][key] = _median([r[key] for r in rows])
        summary[name]["no_landmarks"] = sum(r["iris_ratio"] is None for r in rows)
    summary["a.jpg"] = _summary_row(yardstick)
    builds = [e["build_seconds"] for e in entries]
    summary["reprojection"] = {key: _median([e["reprojection"][key] for e in entries])
                               for key in ("psnr_db", "ssim")}
    summary["build_seconds"] = {"median": _median(builds), "max": max(builds, default=None),
                                "reused": sum(e["reused"] for e in entries)}
    return summary


def _summary_row(rows: list[dict]) -> dict:
    row = {key: _median([r.get(key) for r in rows]) for key in ("seen", "unseen", "nearest_other")}
    row["rank1_percent"] = round(100.0 * sum(r["rank1"] for r in rows) / max(len(rows), 1), 1)
    row["no_face"] = sum(not r["face_found"] for r in rows)
    return row


def format_tables(report: dict) -> str:
    """The printed report: one table per render, one per person, and the summary."""
    lines = [f"Likeness of avatars built from one photo (model {report['model']}); dlib face "
             f"descriptor distances, same person below {report['same_person_distance']}"]
    header = (f"{'person':<12}{'seen':>7}{'unseen':>8}{'other':>7}{'rank-1':>8}  "
              f"{'nearest':<12}{'eye':>6}{'iris':>6}")
    for name in RENDERS:
        lines += ["", f"{name}.png", header]
        for entry in report["people"]:
            r = entry["renders"][name]
            if not r["face_found"]:
                lines.append(f"{entry['person']:<12}{'no face found':>30}")
                continue
            lines.append(f"{entry['person']:<12}{_text(r['seen']):>7}{_text(r['unseen']):>8}"
                         f"{_text(r['nearest_other']):>7}{'yes' if r['rank1'] else 'no':>8}  "
                         f"{r['nearest_person'] or '-':<12}{_text(r['eye_aperture_ratio'], 2):>6}"
                         f"{_text(r['iris_ratio'], 2):>6}")
    lines += ["", f"{'person':<12}{'build s':>9}{'':<10}{'PSNR dB':>9}{'SSIM':>7}"]
    for entry in report["people"]:
        lines.append(f"{entry['person']:<12}{entry['build_seconds']:>9.1f}"
                     f"{' (earlier)' if entry['reused'] else '':<10}"
                     f"{_text(entry['reprojection']['psnr_db'], 2):>9}"
                     f"{_text(entry['reprojection']['ssim'], 3):>7}")
    summary = report["summary"]
    lines += ["", f"Summary over {len(report['people'])} people (medians)",
              f"{'render':<10}{'seen':>7}{'unseen':>8}{'other':>7}{'rank-1 %':>10}{'eye':>6}"
              f"{'iris':>6}{'no face':>9}"]
    for name in (*RENDERS, "a.jpg"):
        s = summary[name]
        lines.append(f"{name:<10}{_text(s['seen']):>7}{_text(s['unseen']):>8}"
                     f"{_text(s['nearest_other']):>7}{s['rank1_percent']:>10.1f}"
                     f"{_text(s.get('eye_aperture_ratio'), 2):>6}{_text(s.get('iris_ratio'), 2):>6}"
                     f"{s['no_face']:>9}")
    builds, reprojection = summary["build_seconds"], summary["reprojection"]
    lines += ["a.jpg: the photo itself against the unseen photos (the yardstick); eye and iris: "
              "render over photo; rank-1 counts a render with no face found as missed.",
              f"Reprojection on a.jpg (face region): PSNR {_text(reprojection['psnr_db'], 2)}"
              f" dB, SSIM {_text(reprojection['ssim'], 3)}.",
              f"Build from one photo ({report['texture_method']} texture): median "
              f"{_text(builds['median'], 1)} s, max {_text(builds['max'], 1)} s (target: under "
              f"60 s on 2 CPU cores); {builds['reused']} of them built in an earlier run."]
    if report["photos_without_face"]:
        lines.append(f"dlib found no face in {len(report['photos_without_face'])} photo(s): "
                     + ", ".join(report["photos_without_face"]))
    return "\n".join(lines)


def _text(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
