"""``revive bench recon``: how close fitted heads come to the truth, in millimetres.

Ground truth: heads sampled from ICT-FaceKit (``--truth``: the upstream folder or zip): a random
identity (every weight from N(0, 1), upstream's sampler), and per photo a random mild
expression, head pose and light. ICT-FaceKit ships no textures, so each head gets a procedural
skin colouring: a random skin tone with soft blotches, redder lips, darker brows and hair, white
eyes with a coloured iris. pyrender renders the photos (512 x 512, the portrait camera Revive
assumes); then the real pipeline runs on the files: detect (mediapipe) -> fit (landmarks, then
with several photos the photometric refinement).

Measured per model and number of views:

- point-to-surface distance, as in the NoW benchmark: every vertex of the true face (ICT's
  narrow face area within 95 mm of the nose tip) to the nearest point of the fitted neutral
  surface, after rigid alignment (Procrustes on the inner 51 iBUG points, then ICP); mm;
- landmark reprojection error of the fit, px (rms per photo, averaged);
- fitting time per photo, after landmark detection;
- as a yardstick, each model's mean shape (no fitting at all), measured the same way: rows
  ``NAME:mean`` with 0 views.

And on real photos (the bundled public-domain portrait, plus any given with --real-photos):
the normalised mean error of the fitted model's 68 iBUG points against dlib's independent
68-point detector (``dlib-bin`` + ``face_recognition_models``, installed only for evaluation:
that model's training data forbids commercial use, so it is never part of the product),
normalised by the distance between the outer eye corners.

Note: with ``--model ict`` the truth lies in the fitted model's own span (same identity basis);
the built-in model meets heads it was not made from. ICT-FaceKit's identity shapes are principal
components of its scans (largest first); the default model keeps the first 40 of the 50 in the
truth, so every truth head also lies partly outside the default model's span.
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revive_core.errors import InputError, ReviveError
from revive_core.assets import asset_path

__all__ = ["add_bench", "run_recon", "ReconRow"]

log = logging.getLogger(__name__)

SIZE = 512
CROP_RADIUS_M = 0.095
INNER_IBUG = np.arange(17, 68)  # brows, nose, eyes, lips: the jaw line follows the silhouette
ICP_ITERATIONS = 12
SKIN_TONES = ((232, 190, 165), (215, 165, 135), (190, 140, 105), (150, 105, 75), (105, 70, 50))
HAIR = ((40, 30, 25), (90, 60, 35), (150, 120, 80), (20, 18, 18))
IRIS = ((70, 45, 25), (60, 90, 120), (80, 100, 60), (40, 30, 20))
EXPRESSIONS = (("mouthSmileLeft", "mouthSmileRight"), ("jawOpen",), ("browInnerUp",),
               ("eyeBlinkLeft", "eyeBlinkRight"), ("mouthFunnel",), ("browDownLeft", "browDownRight"),
               ("mouthPucker",), ("eyeSquintLeft", "eyeSquintRight"), ("mouthFrownLeft", "mouthFrownRight"))
SURFACE_EXCLUDED = ("mouth_interior", "teeth", "gums_tongue", "lid_lining")
ASTRONAUT = asset_path("sample", "astronaut.png")


@dataclass
class ReconRow:
    model: str
    views: int
    median_mm: float
    mean_mm: float
    p90_mm: float
    landmark_px: float | None
    sec_per_photo: float | None
    heads: int


def add_bench(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "recon", help="face reconstruction error in mm, on rendered ICT-FaceKit heads")
    p.add_argument("--truth", required=True, type=Path, metavar="PATH",
                   help="ICT-FaceKit: the upstream folder, its FaceXModel folder, or a zip")
    p.add_argument("--model", default="default",
                   help="model(s) to fit, comma-separated: default, builtin, ict, or a model folder")
    p.add_argument("--views", default="1,3", help="numbers of photos per head, e.g. 1,3")
    p.add_argument("--count", type=int, default=20, help="heads (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.add_argument("--real-photos", type=Path, nargs="*", default=[], metavar="PHOTO",
                   help="more real photos for the NME against dlib (the sample is always used)")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR",
                   help="keep the rendered photos in DIR")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> None:
    from revive_core.formats.storage import atomic_write_bytes, dumps_json

    try:
        views = sorted({int(v) for v in args.views.split(",")})
    except ValueError:
        raise InputError(f"--views {args.views!r} is not a list of numbers.", "For example: --views 1,3") from None
    if not views or views[0] < 1 or views[-1] > 8:
        raise InputError(f"--views {args.views} must be between 1 and 8 photos.")
    if args.count < 1:
        raise InputError(f"--count {args.count} must be at least 1.")
    names = [n.strip() for n in args.model.split(",") if n.strip()]
    report = run_recon(args.truth, names, views, count=args.count, seed=args.seed,
                       real_photos=[ASTRONAUT, *args.real_photos], keep=args.keep)
    print(format_table(report))
    if args.json:
        atomic_write_bytes(args.json, dumps_json(report))
        log.info("Wrote %s", args.json)


def run_recon(truth_path: Path, model_names: list[str], views: list[int], *, count: int,
              seed: int, real_photos: list[Path], keep: Path | None = None) -> dict:
    """Run the benchmark; returns the JSON-ready report (``rows`` and ``real_photos``)."""
    from revive_core.avatar.model.ict import read_ict
    from revive_core.avatar.model.registry import find_model

    truth = read_ict(truth_path, embed=False)
    models = {name: find_model(name) for name in model_names}
    region = _truth_region(truth)
    results: dict[tuple[str, int], list[dict]] = {(n, v): [] for n in models for v in views}
    mean_shape: dict[str, list[np.ndarray]] = {n: [] for n in models}
    skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        from revive_core.geometry.offscreen import OffscreenRenderer

        with OffscreenRenderer(SIZE, SIZE) as renderer:
            for head in range(count):
                rng = np.random.default_rng([seed, head])
                identity = rng.standard_normal(len(truth.identity_names))
                detections = _photos(truth, identity, max(views), rng, renderer,
                                     folder / f"head{head:03d}")
                if len(detections) < max(views):
                    skipped += 1
                    log.warning("head %d: mediapipe found the face in %d of %d photos; skipped",
                                head, len(detections), max(views))
                    continue
                true_neutral = truth.shape(identity)
                for name, model in models.items():
                    mean_shape[name].append(1000.0 * _surface_distances(
                        model, model.vertices_m, true_neutral[region], truth, true_neutral))
                    for v in views:
                        results[(name, v)].append(
                            _evaluate(model, detections[:v], true_neutral[region], truth,
                                      true_neutral))
                log.info("head %d/%d: %s", head + 1, count, ", ".join(
                    f"{n} x{v} {results[(n, v)][-1]['median_mm']:.2f} mm" for n in models for v in views))
    rows = [_row(name, v, results[(name, v)]) for name in models for v in views]
    # What fitting adds: each model's mean shape, unfitted, measured the same way.
    for name in models:
        row = _row(f"{name}:mean", 0, [{"distances_mm": d, "landmark_px": 0.0, "seconds": 0.0,
                                        "photos": 1} for d in mean_shape[name]])
        row.landmark_px = row.sec_per_photo = None
        rows.append(row)
    return {"rows": [row.__dict__ for row in rows], "heads": count, "skipped_heads": skipped,
            "seed": seed,
            "real_photos": _real_photo_nme(models, real_photos)}


def format_table(report: dict) -> str:
    lines = [f"{'model':<14}{'views':>6}{'median mm':>11}{'mean mm':>9}{'p90 mm':>8}"
             f"{'landmarks px':>14}{'s/photo':>9}{'heads':>7}"]
    for r in report["rows"]:
        px, sec = (("-" if r[k] is None else f"{r[k]:.2f}") for k in ("landmark_px", "sec_per_photo"))
        lines.append(f"{r['model']:<14}{r['views']:>6}{r['median_mm']:>11.2f}{r['mean_mm']:>9.2f}"
                     f"{r['p90_mm']:>8.2f}{px:>14}{sec:>9}{r['heads']:>7}")
    real = report["real_photos"]
    if real.get("nme"):
        nme = ", ".join(f"{m} {v:.4f}" for m, v in real["nme"].items())
        lines.append(f"real photos ({len(real['photos'])}): NME vs dlib 68 points: {nme}")
    else:
        lines.append(f"real photos: {real.get('note', 'no NME')}")
    return "\n".join(lines)


def _truth_region(truth) -> np.ndarray:
    """Indices of the true face: ICT's narrow face area near the nose tip."""
    nose_tip, _ = truth.ibug_landmarks(truth.vertices_m)
    face = truth.region_mask("face")
    near = np.linalg.norm(truth.vertices_m - nose_tip[30], axis=1) < CROP_RADIUS_M
    return np.flatnonzero(face & near)


def _photos(truth, identity: np.ndarray, count: int, rng: np.random.Generator, renderer,
            folder: Path) -> list:
    """Render ``count`` photos of one head and detect them (the first is near-frontal)."""
    from PIL import Image

    from revive_core.avatar.detect import detect_face
    from revive_core.errors import ReviveError
    from revive_core.avatar.model.views import Lighting, look_at_face, render_mesh

    colours = _skin(truth, rng)
    face = truth.vertices_m[truth.region_mask("face")]
    folder.mkdir(parents=True, exist_ok=True)
    yaws = [rng.uniform(-12, 12)] + [s * rng.uniform(15, 40) for s in
                                     (rng.choice([-1, 1]) * (-1) ** np.arange(count - 1))]
    detections = []
    for index in range(count):
        expression = {}
        for names in (EXPRESSIONS[i] for i in rng.choice(len(EXPRESSIONS), rng.integers(0, 3),
                                                         replace=False)):
            weight = rng.uniform(0.1, 0.6)
            for name in names:
                expression[name] = weight
        vertices = truth.shape(identity, expression)
        camera = look_at_face(face, SIZE, SIZE, yaw_deg=yaws[index],
                              pitch_deg=rng.uniform(-12, 12), roll_deg=rng.uniform(-8, 8),
                              fill=rng.uniform(0.35, 0.5))
        light = Lighting(direction=(rng.uniform(-0.8, 0.8), rng.uniform(-0.2, 0.8), 1.0),
                         intensity=rng.uniform(2.0, 4.0), ambient=rng.uniform(0.2, 0.4))
        image, _ = render_mesh(renderer, vertices, truth.faces, camera, colours=colours,
                               lighting=light,
                               background=tuple(int(c) for c in rng.integers(40, 220, 3)))
        path = folder / f"view{index}.png"
        Image.fromarray(image).save(path)
        try:
            detections.append(detect_face(path))
        except ReviveError:
            continue
    return detections


def _skin(truth, rng: np.random.Generator) -> np.ndarray:
    """Procedural per-vertex colours (V, 3) for one head: skin, lips, brows, hair, eyes."""
    from revive_core.avatar.model.embedding import paint_lips_and_brows, region_colours

    v = truth.vertices_m
    tone = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))], float) * rng.uniform(0.95, 1.05, 3)
    colours = region_colours(truth, skin_rgb=tone)
    skin = truth.region_mask("face", "face_side", "scalp", "lid_lining")
    # Soft blotches: a few random low-frequency waves over the surface.
    blotch = np.zeros(len(v))
    for _ in range(6):
        direction = rng.standard_normal(3)
        blotch += np.sin(v @ direction * rng.uniform(40, 120) + rng.uniform(0, 6.3))
    colours[skin] *= (1.0 + 0.03 * blotch[skin])[:, None]
    hair = np.array(HAIR[rng.integers(len(HAIR))], float)
    colours = paint_lips_and_brows(truth, colours, brow_rgb=hair)
    landmarks, _ = truth.ibug_landmarks(v)
    scalp = truth.region_mask("scalp") & (v[:, 1] > landmarks[19, 1] + 0.045)
    if rng.uniform() < 0.7:
        colours[scalp] = hair * (1.0 + 0.05 * blotch[scalp])[:, None]
    iris = truth.region_mask("eye_iris_left", "eye_iris_right")
    colours[iris] = IRIS[rng.integers(len(IRIS))]
    return np.clip(colours, 0, 255)


def _evaluate(model, detections: list, truth_points: np.ndarray, truth, true_neutral) -> dict:
    from revive_core.avatar.fit.solve import fit_model

    fit = fit_model(model, detections)
    distance = _surface_distances(model, fit.neutral_vertices, truth_points, truth, true_neutral)
    return {"distances_mm": distance * 1000.0, "median_mm": float(np.median(distance) * 1000),
            "landmark_px": float(np.mean([p.rms_px for p in fit.photos])),
            "seconds": fit.seconds, "photos": len(detections)}


def _surface_distances(model, fitted: np.ndarray, truth_points: np.ndarray, truth,
                       true_neutral: np.ndarray) -> np.ndarray:
    """Distances (N,) metres from the true face points to ``fitted``, rigidly aligned."""
    from revive_core.avatar.model.surface import closest_points

    keep = ~model.region_mask(*SURFACE_EXCLUDED)
    faces = model.faces[keep[model.faces].all(1)]
    # Rigid alignment: Procrustes on the inner iBUG points, then ICP on the face.
    source, _ = truth.ibug_landmarks(true_neutral)
    target, mask = model.ibug_landmarks(fitted)
    inner = INNER_IBUG[mask[INNER_IBUG]]
    rotation, translation = _kabsch(source[inner], target[inner])
    for _ in range(ICP_ITERATIONS):
        moved = truth_points @ rotation.T + translation
        face, bary, _ = closest_points(moved, fitted, faces)
        nearest = np.einsum("nk,nkd->nd", bary, fitted[faces[face]])
        rotation, translation = _kabsch(truth_points, nearest)
    moved = truth_points @ rotation.T + translation
    return closest_points(moved, fitted, faces)[2]


def _kabsch(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (3, 3) and translation (3,) moving ``source`` onto ``target`` (least squares)."""
    sc, tc = source.mean(0), target.mean(0)
    u, _, vt = np.linalg.svd((source - sc).T @ (target - tc))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rotation, tc - rotation @ sc


def _row(name: str, views: int, results: list[dict]) -> ReconRow:
    if not results:
        raise ReviveError(f"No head could be measured for {name}: mediapipe found no face in "
                          "the rendered photos.", "Run again with --keep DIR and look at the photos.")
    distances = np.concatenate([r["distances_mm"] for r in results])
    return ReconRow(name, views, round(float(np.median(distances)), 3),
                    round(float(distances.mean()), 3), round(float(np.percentile(distances, 90)), 3),
                    round(float(np.mean([r["landmark_px"] for r in results])), 3),
                    round(sum(r["seconds"] for r in results) / sum(r["photos"] for r in results), 3),
                    len(results))


def _real_photo_nme(models: dict, photos: list[Path]) -> dict:
    """NME of each model's fitted 68 points against dlib's 68-point detector on real photos."""
    predictor = _dlib_predictor()
    if predictor is None:
        return {"nme": None, "note": "dlib-bin and face_recognition_models are not installed "
                                     "(pip install 'revive[bench]'); NME skipped"}
    from revive_core.avatar.detect import detect_face, load_photo
    from revive_core.avatar.fit.solve import fit_model

    detector, shape_predictor = predictor
    errors: dict[str, list[float]] = {name: [] for name in models}
    used = []
    for path in photos:
        image = load_photo(path)
        rects = detector(image, 1)
        if not rects:
            log.warning("dlib found no face in %s; skipped", path)
            continue
        rect = max(rects, key=lambda r: r.width() * r.height())
        parts = shape_predictor(image, rect)
        reference = np.array([(p.x + 0.5, p.y + 0.5) for p in parts.parts()], float)
        interocular = np.linalg.norm(reference[36] - reference[45])
        detection = detect_face(path)
        used.append(path.name)
        for name, model in models.items():
            fit = fit_model(model, [detection])
            photo = fit.photos[0]
            points, mask = model.ibug_landmarks(photo.vertices(model, fit.identity))
            pixels, _ = photo.camera.project(points)
            errors[name].append(float(np.linalg.norm(pixels[mask] - reference[mask], axis=1).mean()
                                      / interocular))
    return {"nme": {name: round(float(np.mean(e)), 4) for name, e in errors.items() if e},
            "photos": used, "normalised_by": "outer eye corner distance (dlib points 36-45)"}


def _dlib_predictor():
    """dlib's frontal face detector and 68-point shape predictor, or None if not installed."""
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or importlib.util.find_spec("dlib") is None:
        return None
    import dlib

    # The package's __init__ needs pkg_resources; its data file is all that is needed.
    folder = Path(next(iter(spec.submodule_search_locations)))
    model = folder / "models" / "shape_predictor_68_face_landmarks.dat"
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model))
