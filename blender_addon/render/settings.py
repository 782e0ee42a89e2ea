"""Render settings for a Revive video: engine, device (GPU when there is one), quality, label.

Functions
---------
configure_render   set engine, device, samples (a quality preset), denoising, resolution and
                   Cycles' light bounces (``CYCLES_BOUNCES``);
                   return the device actually used, e.g. "CPU" or "OPTIX (NVIDIA H200)"
find_gpu           the first GPU backend Cycles can use here, with its devices' names
label_mp4          write Revive's label (AI-generated, consent, content id) into a finished MP4
scene_label        the label for a video of a scene: its head's consent and its visible mark
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import bpy

from ..about import VERSION
from ..imp.head import PROP_AVATAR, find_head
from ..revive_formats import ReviveError
from ..revive_formats.label import DEFAULT_POSITION, DEFAULT_SIZE, METADATA_NOTE, make_label
from ..revive_formats.mp4 import write_mp4_label
from ..stage.stage import check_resolution, fit_label

__all__ = ["CYCLES_BOUNCES", "DEVICES", "ENGINES", "GPU_BACKENDS", "METADATA_NOTE", "PRESETS", "Preset",
           "configure_render", "find_gpu", "label_mp4", "scene_label"]

ENGINES = {"cycles": "CYCLES", "eevee": "BLENDER_EEVEE", "workbench": "BLENDER_WORKBENCH"}
DEVICES = ("auto", "cpu", "gpu")
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")


@dataclass(frozen=True)
class Preset:
    """A quality preset: Cycles samples, denoising (when the build has it), default size."""

    samples: int
    denoise: bool
    resolution: tuple[int, int]


CYCLES_BOUNCES = {"max_bounces": 8, "diffuse_bounces": 3, "glossy_bounces": 3,
                  "transmission_bounces": 4}
# Denoised, 8 samples cost a CPU no more than 16 without (6.3 and 6.8 s for a 512 px frame of
# the sample head) and leave no grain in the hair strands, which 16 samples alone do.
PRESETS = {"preview": Preset(samples=8, denoise=True, resolution=(1280, 720)),
           "final": Preset(samples=128, denoise=True, resolution=(1920, 1080))}


def find_gpu(prefs=None) -> tuple[str, list[str]] | None:
    """The first backend in ``GPU_BACKENDS`` with a usable device, enabled for Cycles.

    ``prefs`` defaults to the Cycles add-on's preferences (tests pass a stand-in GPU).

    Returns
    -------
    (str, list of str) or None
        The backend ("OPTIX", "CUDA", ...) and the names of its enabled devices, or None when
        Cycles finds no GPU (then the preferences are left on CPU).
    """
    if prefs is None:
        addon = bpy.context.preferences.addons.get("cycles")
        if addon is None:
            return None
        prefs = addon.preferences
    for backend in GPU_BACKENDS:
        try:
            prefs.compute_device_type = backend
        except (TypeError, ValueError):  # this build or platform has no such backend
            continue
        try:
            prefs.refresh_devices()
        except Exception:  # a broken driver must not stop a CPU render
            continue
        gpus = [d for d in prefs.devices if d.type == backend]
        if gpus:
            # Headless runs load no saved preferences: enable the devices every time.
            for device in prefs.devices:
                device.use = device.type == backend
            return backend, [d.name for d in gpus]
    try:
        prefs.compute_device_type = "NONE"
    except (TypeError, ValueError):
        pass
    return None


def configure_render(scene: bpy.types.Scene, *, engine: str = "cycles", device: str = "auto",
                     preset: str = "preview", samples: int | None = None,
                     resolution: tuple[int, int] | None = None, denoise: bool | None = None,
                     quiet: bool = False) -> str:
    """Set ``scene``'s engine, device and quality; the output is set by ``frames``.

    Parameters
    ----------
    scene : bpy.types.Scene
    engine : {"cycles", "eevee", "workbench"}
    device : {"auto", "cpu", "gpu"}
        Cycles only. "auto" uses a GPU when Cycles finds one (OptiX, CUDA, HIP, oneAPI, Metal,
        in that order), else the CPU; "gpu" fails with a ReviveError when there is none.
    preset : {"preview", "final"}
        Samples and denoising (see ``PRESETS``); ``samples`` and ``denoise`` override it.
    samples : int, optional
        Cycles samples per pixel (EEVEE: TAA samples), 1 to 65536.
    resolution : (int, int), optional
        Width and height in pixels (even numbers); the scene's resolution by default (the
        stage sets it, and the preset's resolution is only a default for the stage).
    denoise : bool, optional
        Cycles denoising with OpenImageDenoise: an error when the build lacks it. By default
        the preset's choice, when the build has it.
    quiet : bool
        Do not print the "Revive: rendering with ..." line.

    Returns
    -------
    str
        The device actually used: "CPU", "OPTIX (NVIDIA H200)", or "OpenGL" for EEVEE and
        Workbench.
    """
    if engine not in ENGINES:
        raise ReviveError(f"engine={engine!r} is not one of {', '.join(ENGINES)}.")
    if device not in DEVICES:
        raise ReviveError(f"device={device!r} is not one of {', '.join(DEVICES)}.")
    if preset not in PRESETS:
        raise ReviveError(f"preset={preset!r} is not one of {', '.join(PRESETS)}.")
    quality = PRESETS[preset]
    samples = quality.samples if samples is None else samples
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= 65536:
        raise ReviveError(f"samples={samples!r} must be an integer from 1 to 65536.")
    render = scene.render

    if resolution is not None:
        width, height = check_resolution(resolution)
        render.resolution_x, render.resolution_y = width, height
        render.resolution_percentage = 100
    fit_label(scene)  # the label's place depends on the frame's aspect ratio

    _set_engine(render, ENGINES[engine])
    if engine == "cycles":
        used = _configure_cycles(scene, device=device, samples=samples, denoise=denoise,
                                 preset_denoise=quality.denoise)
    elif engine == "eevee":
        if device == "cpu":
            raise ReviveError("EEVEE renders with OpenGL and cannot use device=cpu.",
                              "Use --engine cycles --device cpu, or --device auto.")
        eevee = scene.eevee
        if hasattr(eevee, "taa_render_samples"):
            eevee.taa_render_samples = samples
        used = _opengl_renderer()
    else:
        shading = scene.display.shading
        shading.light, shading.color_type = "STUDIO", "TEXTURE"
        used = _opengl_renderer()

    if not quiet:
        where = f"CPU ({render.threads} threads)" if used == "CPU" else used
        print(f"Revive: rendering with {_engine_title(engine)} on {where}, {preset} quality "
              f"({samples} samples)", flush=True)
    return used


def _set_engine(render, name: str) -> None:
    try:
        render.engine = name
    except TypeError:
        if name == "BLENDER_EEVEE":  # Blender 4.2 to 4.4 call the new EEVEE "EEVEE Next"
            render.engine = "BLENDER_EEVEE_NEXT"
        else:
            raise


def _engine_title(engine: str) -> str:
    return {"cycles": "Cycles", "eevee": "EEVEE", "workbench": "Workbench"}[engine]


def _configure_cycles(scene: bpy.types.Scene, *, device: str, samples: int,
                      denoise: bool | None, preset_denoise: bool) -> str:
    cycles = scene.cycles
    gpu = find_gpu() if device in ("auto", "gpu") else None
    if device == "gpu" and gpu is None:
        raise ReviveError("No GPU that Cycles can use was found.",
                          "Use --device cpu (or auto) to render on the CPU; for a GPU, install "
                          "its driver (NVIDIA: CUDA/OptiX, AMD: HIP, Intel: oneAPI).")
    if gpu is not None:
        backend, names = gpu
        cycles.device = "GPU"
        used = f"{backend} ({', '.join(dict.fromkeys(names))})"
    else:
        if device == "cpu":  # do not leave a GPU enabled from an earlier call
            addon = bpy.context.preferences.addons.get("cycles")
            if addon is not None:
                try:
                    addon.preferences.compute_device_type = "NONE"
                except (TypeError, ValueError):
                    pass
        cycles.device = "CPU"
        scene.render.threads_mode = "AUTO"
        used = "CPU"

    cycles.samples = samples
    # A head in a studio needs few bounces; hair strands would otherwise pass light through
    # each other up to 12 times (a third of the hair's cost at 20 000 strands).
    for bounces, limit in CYCLES_BOUNCES.items():
        if hasattr(cycles, bounces):
            setattr(cycles, bounces, limit)
    if hasattr(cycles, "use_adaptive_sampling"):
        cycles.use_adaptive_sampling = samples >= 64
    want = preset_denoise if denoise is None else bool(denoise)
    if want and not _has_oidn():
        if denoise:
            raise ReviveError("This Blender build has no OpenImageDenoise, so it can't denoise.",
                              "Render without denoising, or with an official Blender build.")
        want = False
    cycles.use_denoising = want
    if want and hasattr(cycles, "denoiser"):
        cycles.denoiser = "OPENIMAGEDENOISE"
    # The BVH, textures and shaders stay in memory between frames.
    scene.render.use_persistent_data = True
    return used


def _has_oidn() -> bool:
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def _opengl_renderer() -> str:
    try:
        import gpu

        return f"OpenGL: {gpu.platform.renderer_get()}"
    except Exception:  # no GPU context yet in background mode
        return "OpenGL"


def label_mp4(path: str | os.PathLike, scene: bpy.types.Scene, *,
              render: dict | None = None) -> dict:
    """Write the label of a video rendered from ``scene`` into the MP4 at ``path``.

    ``render`` (how the frames were made: engine, device(s), samples) is kept in the label as
    its "render" entry, so the video's metadata says which device rendered it.

    Blender keeps its stamp note out of MP4 files, so the machine-readable label (see
    ``revive_formats.label``) is added to the finished file. Write the sidecar with
    ``write_sidecar(final_path, label)`` once the video is in its place.

    Returns
    -------
    dict
        The label written: consent of the scene's Revive head, whether the visible mark is
        in the scene, a new content id.
    """
    label = scene_label(scene)
    if render:
        label["render"] = dict(render)
    write_mp4_label(path, label)
    return label


def scene_label(scene: bpy.types.Scene) -> dict:
    """A new label for a video of ``scene``, from its Revive head and its visible mark."""
    head = next((o for o in scene.objects if find_head(o) is o and o.get("revive_consent")),
                None)
    if head is None:
        raise ReviveError("There is no Revive head with a consent record in this scene, so "
                          "the video can't be labelled.", "Import the avatar with Revive.")
    try:
        consent = json.loads(head["revive_consent"])
    except (TypeError, ValueError):
        raise ReviveError(f"The consent record on {head.name} is damaged.",
                          "Import the avatar again with Revive.") from None
    marks = [o for o in scene.objects if o.get("revive_label") and not o.hide_render]
    shown = bool(marks) and scene.camera is not None and marks[0].parent == scene.camera
    return make_label(
        consent=consent, tool_version=".".join(map(str, VERSION)), kind="render",
        visible=shown, avatar_name=head.get(PROP_AVATAR), model_id=head.get("revive_model"),
        **({"position": marks[0].get("revive_label_position", DEFAULT_POSITION),
            "size": float(marks[0].get("revive_label_size", DEFAULT_SIZE))} if shown else {}))
