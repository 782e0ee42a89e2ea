"""``revive bench texture``: how well the texture stage recovers a known albedo.

Ground truth: ICT-FaceKit heads (random identity) with a procedural skin albedo painted in the
model's own UV layout (tone variation, blotches, pore grain, redder lips, darker brows), rendered
with pyrender from 1 or 3 views, each under its own random lighting (ambient plus a key and a
fill light, clamped-cosine shading, exposed so the brightest lit skin is the albedo itself).
The real pipeline then runs on those renders: detect -> fit (the ICT model itself, so UV
spaces match) -> texture, once per method (``blur``, ``delit``, ``gan``). Measured:

- PSNR and SSIM of the recovered albedo against the truth over the skin texels some photo saw
  ("seen") and those none saw ("unseen"), in sRGB 8-bit units;
- PSNR of a re-render from a new viewpoint 30 degrees off the first photo (yaw, the camera
  orbiting the face's centre): the fitted head as the fit explains that photo, with the
  recovered albedo, against the true head and albedo, both under the same neutral light, over
  the pixels both heads cover;
- seconds per stage.
"""
from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revive_core.errors import InputError
from revive_core.geometry.camera import Camera
from revive_core.geometry.mesh import split_seams, vertex_normals
from revive_core.geometry.offscreen import OffscreenRenderer
from revive_core.geometry.polyline import polyline_distance

__all__ = ["add_bench", "run_bench", "skin_albedo", "psnr", "ssim", "render_textured"]

log = logging.getLogger(__name__)

PHOTO_SIZE = 512
NOVEL_YAW_DEG = 30.0
THREE_VIEW_YAWS = (0.0, -35.0, 35.0)  # the first view is the frontal one
BACKGROUND = (0.45, 0.47, 0.5)
BROW_RADIUS_M = 0.0025


@dataclass
class Light:
    """Ambient plus clamped-cosine lights (directions toward the light, camera frame)."""

    ambient: float
    directions: np.ndarray  # (K, 3) unit
    intensities: np.ndarray  # (K,)

    def shading(self, normals_camera: np.ndarray) -> np.ndarray:
        cosines = np.clip(normals_camera @ self.directions.T, 0.0, None)
        return self.ambient + cosines @ self.intensities


NEUTRAL_LIGHT = Light(0.45, np.array([[0.25, 0.35, 0.9]]) / np.linalg.norm([0.25, 0.35, 0.9]),
                      np.array([0.55]))


def add_bench(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "texture", help="recovered albedo vs truth on rendered ICT heads (PSNR/SSIM)")
    p.add_argument("--truth", required=True, type=Path, metavar="PATH",
                   help="ICT-FaceKit: its folder, its FaceXModel folder, or the zip")
    p.add_argument("--views", default="1,3", help="photos per head, comma-separated (1 and/or 3)")
    p.add_argument("--heads", type=int, default=2, help="random heads per view count")
    p.add_argument("--size", type=int, default=1024, choices=(512, 1024, 2048), help="texture size")
    p.add_argument("--steps", type=int, default=300, help="GAN training steps")
    p.add_argument("--grain", type=float, default=0.5, metavar="0..1",
                   help="strength of the grain the GAN invents (as `revive build --texture-grain`)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.add_argument("--save", type=Path, default=None, metavar="DIR",
                   help="also write the true and recovered textures and renders here")
    p.set_defaults(run=_run)


def _run(args) -> None:
    from revive_core.formats.storage import atomic_write_bytes

    try:
        views = sorted({int(v) for v in args.views.split(",") if v.strip()})
    except ValueError:
        raise InputError(f"--views {args.views!r} is not a list of numbers.",
                         "For example: --views 1,3") from None
    if not views or any(v not in (1, 3) for v in views):
        raise InputError(f"--views {args.views!r}: each entry must be 1 or 3.",
                         "For example: --views 1,3")
    if args.heads < 1 or args.steps < 1:
        raise InputError(f"--heads {args.heads} and --steps {args.steps} must be at least 1.")
    if not 0.0 <= args.grain <= 1.0:
        raise InputError(f"--grain {args.grain} must be between 0 and 1.")
    result = run_bench(args.truth, views=views, heads=args.heads, size=args.size,
                       steps=args.steps, grain=args.grain, seed=args.seed, save=args.save)
    print(result["table"])
    if args.json is not None:
        atomic_write_bytes(args.json, json.dumps({"rows": result["rows"]}, indent=1).encode())


def run_bench(truth, *, views: list[int], heads: int, size: int = 1024, steps: int = 300,
              grain: float = 0.5, seed: int = 0, save: Path | None = None) -> dict:
    """Run the benchmark on ``truth``: ICT-FaceKit's path, or the model already read from it.

    Returns {"rows": [...] (one per method, over every head), "by_views": {count: rows},
    "stages": {stage: seconds}, "table": the printed table}.
    """
    from revive_core.avatar.model.ict import read_ict

    started = time.perf_counter()
    model = read_ict(Path(truth)) if isinstance(truth, (str, Path)) else truth
    stages = {"load model": time.perf_counter() - started}
    rng = np.random.default_rng(seed)
    results: dict[int, list[dict]] = {v: [] for v in views}
    with OffscreenRenderer(PHOTO_SIZE, PHOTO_SIZE) as renderer:
        for count in views:
            for head in range(heads):
                case_seed = int(rng.integers(1 << 31))
                folder = save / f"views{count}_head{head}" if save is not None else None
                log.info("Head %d of %d, %d view(s)", head + 1, heads, count)
                results[count].append(_run_case(model, renderer, count, case_seed, size, steps,
                                                grain, stages, folder))
    every = [case for cases in results.values() for case in cases]
    rows = _average(every)
    by_views = {count: _average(cases) for count, cases in results.items()}
    return {"rows": rows, "by_views": by_views, "stages": stages,
            "table": _table(rows, by_views, stages, heads)}


def _run_case(model, renderer: OffscreenRenderer, count: int, seed: int, size: int, steps: int,
              grain: float, stages: dict, folder: Path | None) -> dict[str, dict]:
    """Render one random head from ``count`` views, recover its albedo by each method, score."""
    from PIL import Image

    from revive_core.avatar.detect import detect_face
    from revive_core.avatar.fit.solve import fit_model
    from revive_core.avatar.model.views import look_at_face
    from revive_core.avatar.texture import METHODS, CompletionSettings, PhotoView, bake_texture
    from revive_core.avatar.texture.uv import uv_layout

    def lap(stage: str, since: float) -> float:
        now = time.perf_counter()
        stages[stage] = stages.get(stage, 0.0) + now - since
        return now

    rng = np.random.default_rng(seed)
    clock = time.perf_counter()
    layout = uv_layout(model.uvs, model.uv_faces, size, faces=model.faces,
                       vertices_m=model.vertices_m)
    truth = skin_albedo(model, layout, rng)
    identity = rng.normal(0.0, 1.0, len(model.identity_names))
    vertices = model.shape(identity)
    face = vertices[model.region_mask("face")]
    yaws = THREE_VIEW_YAWS[:count] if count == 3 else (float(rng.uniform(-12, 12)),)
    cameras = [look_at_face(face, PHOTO_SIZE, PHOTO_SIZE, yaw_deg=yaw + rng.uniform(-4, 4),
                            pitch_deg=rng.uniform(-6, 6), fill=0.5) for yaw in yaws]
    clock = lap("truth texture", clock)
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, camera in enumerate(cameras):
            image, _ = render_textured(renderer, vertices, model, truth, camera,
                                       _random_light(rng))
            paths.append(Path(tmp) / f"view{k}.png")
            Image.fromarray(image).save(paths[-1])
        clock = lap("render", clock)
        detections = [detect_face(p) for p in paths]
        clock = lap("detect", clock)
        fit = fit_model(model, detections)
        clock = lap("fit", clock)
    photo_views = [PhotoView(p.detection.image, p.camera, p.vertices(model, fit.identity))
                   for p in fit.photos]
    face_regions = model.vertex_regions[model.faces].max(1)
    skin = _skin_texels(model, layout, face_regions)
    # The scene of the first photo seen from elsewhere: the camera orbits NOVEL_YAW_DEG about
    # the face's centre and sees the true head, or the fitted head as the fit explains that
    # photo (its identity and expression).
    face_mask = model.region_mask("face")
    true_camera = _turned(cameras[0], vertices[face_mask].mean(0), NOVEL_YAW_DEG)
    true_novel, true_depth = render_textured(renderer, vertices, model, truth, true_camera,
                                             NEUTRAL_LIGHT)
    fitted_vertices = photo_views[0].vertices_m
    novel_camera = _turned(fit.photos[0].camera, fitted_vertices[face_mask].mean(0),
                           NOVEL_YAW_DEG)
    scores, seen = {}, None
    for method in METHODS:
        began = time.perf_counter()
        texture = bake_texture(model.faces, model.uvs, model.uv_faces, face_regions, photo_views,
                               size=size, region_names=model.region_names,
                               rest_vertices_m=fit.neutral_vertices, method=method,
                               completion=CompletionSettings(steps=steps, seed=seed,
                                                             grain=grain, progress=False))
        seconds = time.perf_counter() - began
        stages[f"texture: {method}"] = stages.get(f"texture: {method}", 0.0) + seconds
        if seen is None:  # what the photos saw, the same for every method
            seen = skin & (texture.confidence > 0)
        recovered = texture.albedo.astype(np.float64) / 255.0
        novel, depth = render_textured(renderer, fitted_vertices, model, recovered,
                                       novel_camera, NEUTRAL_LIGHT)
        both = (depth > 0) & (true_depth > 0)
        scores[method] = {
            "seen_psnr": psnr(recovered, truth, seen), "seen_ssim": ssim(recovered, truth, seen),
            "unseen_psnr": psnr(recovered, truth, skin & ~seen),
            "unseen_ssim": ssim(recovered, truth, skin & ~seen),
            "novel_view_psnr": psnr(novel / 255.0, true_novel / 255.0, both),
            "seconds": seconds}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(texture.albedo).save(folder / f"albedo_{method}.png")
            Image.fromarray(novel).save(folder / f"novel_{method}.png")
    if folder is not None:
        Image.fromarray(np.round(truth * 255).astype(np.uint8)).save(folder / "albedo_truth.png")
        Image.fromarray(true_novel).save(folder / "novel_truth.png")
        for k, view in enumerate(photo_views):
            Image.fromarray(view.image).save(folder / f"photo{k}.png")
    log.info("  unseen PSNR blur %.2f, delit %.2f, gan %.2f dB", scores["blur"]["unseen_psnr"],
             scores["delit"]["unseen_psnr"], scores["gan"]["unseen_psnr"])
    return scores


def _skin_texels(model, layout, face_regions: np.ndarray) -> np.ndarray:
    from revive_core.avatar.texture.regions import region_kinds

    kinds = region_kinds(model.region_names)
    skin_regions = [i for i, k in enumerate(kinds) if k == "skin"]
    return layout.scatter(np.isin(face_regions[layout.faces], skin_regions))


def skin_albedo(model, layout, rng: np.random.Generator) -> np.ndarray:
    """A procedural, plausible skin albedo (S, S, 3) sRGB 0..1 in ``model``'s UV layout.

    A random base tone (light to dark); soft blotches and redness over the cheeks and nose
    (3D noise on the surface, so UV seams do not show); fine pore grain; redder, darker lips
    and dark brows placed by the model's 68-point landmarks; painted eyes, teeth and mouth.
    """
    import cv2

    from revive_core.avatar.texture.fuse import pull_push
    from revive_core.avatar.texture.regions import paint_parts

    size = layout.size
    rest = model.vertices_m
    points = layout.points(rest, model.faces)
    lab = np.array([rng.uniform(45, 78), rng.uniform(10, 17), rng.uniform(13, 24)], np.float32)
    base = cv2.cvtColor(lab.reshape(1, 1, 3), cv2.COLOR_Lab2RGB).reshape(3).astype(np.float64)
    # Faces are coloured broadly symmetrically (redness, darker and lighter areas), not exactly.
    blotches = _surface_noise(points, rng, spacing_m=0.012, symmetric=0.7)
    tone = base * (1.0 + 0.05 * blotches)[:, None]
    landmarks, _ = model.ibug_landmarks(rest)
    cheeks = np.stack([landmarks[30], 0.5 * (landmarks[2] + landmarks[31]),
                       0.5 * (landmarks[14] + landmarks[35])])
    redness = np.exp(-np.min(((points[:, None] - cheeks[None]) ** 2).sum(-1), 1) / (2 * 0.018**2))
    tone = tone * (1.0 - 0.08 * redness[:, None] * np.array([0.0, 1.0, 0.8]))
    lips = _inside_outline(points, landmarks[48:60], front_of=landmarks[51, 2] - 0.012)
    lip_colour = base * np.array([0.92, 0.62, 0.66])
    tone = tone * (1 - lips[:, None]) + lip_colour * lips[:, None]
    brow_distance = np.minimum(polyline_distance(points[:, :2], landmarks[17:22, :2]),
                               polyline_distance(points[:, :2], landmarks[22:27, :2]))
    brows = np.clip((2 * BROW_RADIUS_M - brow_distance) / BROW_RADIUS_M, 0, 1)  # 1 within it
    brows = brows * (points[:, 2] > landmarks[19, 2] - 0.02)
    strands = 0.75 + 0.25 * _surface_noise(points * [1.0, 6.0, 1.0], rng, spacing_m=0.004)
    brow_colour = np.array([0.22, 0.15, 0.10])
    tone = tone * (1 - brows[:, None]) + (brow_colour * strands[:, None]) * brows[:, None]
    image = layout.scatter(np.clip(tone, 0, 1))
    grain = cv2.GaussianBlur(rng.normal(0.0, 1.0, (size, size)).astype(np.float32), (0, 0), 0.8)
    image = image * (1.0 + 0.04 * grain / grain.std())[..., None]
    region = model.vertex_regions[model.faces].max(1)[layout.faces]
    seen = np.zeros(len(layout.rows), bool)
    image = paint_parts(image, layout.rows, layout.cols, region, model.region_names, points, seen,
                        seed=int(rng.integers(1 << 31)))
    return np.clip(pull_push(np.clip(image, 0, 1), layout.covered), 0, 1)


def _surface_noise(points: np.ndarray, rng: np.random.Generator, *, spacing_m: float,
                   symmetric: float = 0.0) -> np.ndarray:
    """Smooth noise (N,) of unit spread at 3D points: a random grid, trilinearly interpolated.

    ``symmetric`` (0..1) of it is the same at (x, y, z) and (-x, y, z).
    """
    from scipy.ndimage import gaussian_filter, map_coordinates

    reach = np.abs(points).max(0) + 2 * spacing_m
    low = -reach
    shape = np.ceil(2 * reach / spacing_m).astype(int) + 1
    grid = gaussian_filter(rng.normal(0.0, 1.0, shape), 1.0)
    grid = (1 - symmetric) * grid + symmetric * 0.5 * (grid + grid[::-1])

    values = map_coordinates(grid, ((points - low) / spacing_m).T, order=1, mode="nearest")
    return values / (values.std() + 1e-9)


def _inside_outline(points: np.ndarray, outline: np.ndarray, *, front_of: float) -> np.ndarray:
    """(N,) 0..1: inside the closed ``outline`` seen from the front (x, y) and in front of the
    depth ``front_of``; 0.5 on a thin rim just outside it."""
    from revive_core.avatar.model.head import inside_polygon

    centre = outline[:, :2].mean(0)
    inside = inside_polygon(points[:, :2], outline[:, :2])
    grown = inside_polygon(points[:, :2], centre + (outline[:, :2] - centre) * 1.15)
    return np.where(inside, 1.0, np.where(grown, 0.5, 0.0)) * (points[:, 2] > front_of)


def _random_light(rng: np.random.Generator) -> Light:
    """Ambient 0.2..0.4, a key light 15..55 degrees off the camera axis, a weak fill opposite."""
    ambient = rng.uniform(0.2, 0.4)
    theta, phi = np.radians(rng.uniform(15, 55)), rng.uniform(0, 2 * np.pi)
    key = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    fill = np.array([-key[0], key[1] * 0.3, 1.0])
    key_intensity = (1 - ambient) * rng.uniform(0.75, 1.0)
    light = Light(ambient, np.stack([key, fill / np.linalg.norm(fill)]),
                  np.array([key_intensity, 1 - ambient - key_intensity]))
    # Exposed for the lit skin: the brightest shading any normal gets is 1.
    sphere = rng.normal(size=(4000, 3))
    peak = light.shading(sphere / np.linalg.norm(sphere, axis=1, keepdims=True)).max()
    return Light(ambient / peak, light.directions, light.intensities / peak)


def _turned(camera, centre_m: np.ndarray, yaw_deg: float):
    """``camera`` orbited by ``yaw_deg`` about the model's vertical axis through ``centre_m``."""
    from scipy.spatial.transform import Rotation

    centre = np.asarray(centre_m, dtype=np.float64)
    turn = Rotation.from_euler("y", yaw_deg, degrees=True)
    rotation = Rotation.from_rotvec(camera.rotation) * turn
    translation = np.asarray(camera.translation) + Rotation.from_rotvec(camera.rotation).apply(
        centre - turn.apply(centre))
    return camera.posed(rotation.as_rotvec(), translation)


def render_textured(renderer: OffscreenRenderer, vertices_m: np.ndarray, model,
                    albedo: np.ndarray, camera: Camera, light: Light
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Render the posed, textured head under ``light``, shaded per vertex.

    Flat-shaded: pyrender outputs texture x vertex colour, and the vertex colour carries the
    shading (``shading ** (1 / 2.2)``: multiplying sRGB-encoded values by it is multiplying
    linear light by the shading, to within the sRGB curve's linear toe).

    Parameters
    ----------
    renderer : OffscreenRenderer
        Of the camera's size.
    vertices_m : np.ndarray [shape=(V, 3)]
    model
        What holds the mesh's ``faces``, ``uvs`` and ``uv_faces`` (a MorphableModel).
    albedo : np.ndarray [shape=(S, S, 3)]
        sRGB 0..1 in the model's UV layout.
    camera : Camera
    light : Light
        In the camera's frame.

    Returns
    -------
    colour : np.ndarray [shape=(H, W, 3)] uint8
    depth : np.ndarray [shape=(H, W)] metres, 0 where nothing
    """
    vertex_ids, uv_ids, faces = split_seams(model.faces, model.uv_faces)
    normals = vertex_normals(vertices_m, model.faces) @ camera.matrix.T
    shading = np.clip(light.shading(normals), 0, 1) ** (1 / 2.2)
    renderer.look_through(camera)
    renderer.set_background(BACKGROUND)
    renderer.set_material(texture=np.round(np.clip(albedo, 0, 1) * 255).astype(np.uint8))
    renderer.set_mesh(np.asarray(vertices_m, np.float32)[vertex_ids], faces,
                      colours=np.repeat(shading[vertex_ids, None], 3, axis=1),
                      texcoords=model.uvs[uv_ids])
    return renderer.render(flat=True)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB of images (H, W, 3) 0..1 over ``mask`` (H, W), on the 8-bit scale."""
    if not mask.any():
        return float("nan")
    a8, b8 = np.round(a * 255), np.round(b * 255)
    mse = float(((a8[mask] - b8[mask]) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: Gaussian window sigma 1.5, 8-bit constants) over ``mask``."""
    import cv2

    if not mask.any():
        return float("nan")
    x, y = np.round(a * 255).astype(np.float64), np.round(b * 255).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(image):
        return cv2.GaussianBlur(image, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    value = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(value.mean(-1)[mask].mean())


def _average(cases: list[dict[str, dict]]) -> list[dict]:
    rows = []
    for method in ("blur", "delit", "gan"):
        row = {"method": method}
        for key in ("seen_psnr", "seen_ssim", "unseen_psnr", "unseen_ssim", "novel_view_psnr",
                    "seconds"):
            row[key] = round(float(np.nanmean([c[method][key] for c in cases])), 4)
        rows.append(row)
    return rows


def _table(rows: list[dict], by_views: dict[int, list[dict]], stages: dict, heads: int) -> str:
    header = (f"{'views':>5}  {'method':<6} {'seen PSNR':>9} {'seen SSIM':>9} {'unseen PSNR':>11} "
              f"{'unseen SSIM':>11} {'novel-view PSNR':>15} {'seconds':>8}")
    lines = [f"Texture recovery on rendered ICT-FaceKit heads ({heads} per view count); "
             "PSNR in dB, 8-bit sRGB", header, "-" * len(header)]

    def line(label, r):
        return (f"{label:>5}  {r['method']:<6} {r['seen_psnr']:9.2f} {r['seen_ssim']:9.4f} "
                f"{r['unseen_psnr']:11.2f} {r['unseen_ssim']:11.4f} {r['novel_view_psnr']:15.2f} "
                f"{r['seconds']:8.1f}")

    for count, group in by_views.items():
        lines += [line(str(count), r) for r in group]
    if len(by_views) > 1:
        lines += [line("all", r) for r in rows]
    lines += ["", "Seconds per stage (all heads):"]
    lines += [f"  {stage:<16} {seconds:8.1f}" for stage, seconds in stages.items()]
    return "\n".join(lines)
