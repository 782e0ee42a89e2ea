"""Render settings for a Revive video: engine, device (GPU when there is one), samples, MP4.

Functions
---------
configure_render   set engine, device, samples, resolution and H.264 + AAC output; return the
                   device actually used, e.g. "CPU" or "OPTIX (NVIDIA H200)"
find_gpu           the first GPU backend Cycles can use here, with its devices' names
label_mp4          write "AI-generated with Revive" into a finished MP4's metadata
"""
from __future__ import annotations

import os
from pathlib import Path

import bpy

from .revive_formats import ReviveError
from .scene import check_resolution, fit_label

__all__ = ["ENGINES", "GPU_BACKENDS", "METADATA_NOTE", "configure_render", "find_gpu",
           "label_mp4"]

ENGINES = {"cycles": "CYCLES", "eevee": "BLENDER_EEVEE", "workbench": "BLENDER_WORKBENCH"}
DEVICES = ("auto", "cpu", "gpu")
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
METADATA_NOTE = "AI-generated with Revive"
DENOISE_FROM_SAMPLES = 32  # below this, denoising costs more time than the samples it saves


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
                     samples: int = 16, resolution: tuple[int, int] | None = None,
                     out_path: str | os.PathLike, denoise: bool | None = None,
                     quiet: bool = False) -> str:
    """Set ``scene`` up to render an H.264 + AAC MP4 with the given engine and device.

    Parameters
    ----------
    scene : bpy.types.Scene
    engine : {"cycles", "eevee", "workbench"}
    device : {"auto", "cpu", "gpu"}
        Cycles only. "auto" uses a GPU when Cycles finds one (OptiX, CUDA, HIP, oneAPI, Metal,
        in that order), else the CPU; "gpu" fails with a ReviveError when there is none.
    samples : int
        Cycles samples per pixel (EEVEE: TAA samples), 1 to 65536.
    resolution : (int, int), optional
        Width and height in pixels (even numbers); the scene's resolution by default.
    out_path : path
        The video file to write; made absolute, ".mp4" added when missing.
    denoise : bool, optional
        Cycles denoising with OpenImageDenoise. By default on from 32 samples, when the build
        has it.
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
        used = _configure_cycles(scene, device=device, samples=samples, denoise=denoise)
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

    _video_output(scene, out_path)
    if not quiet:
        where = f"CPU ({render.threads} threads)" if used == "CPU" else used
        print(f"Revive: rendering with {_engine_title(engine)} on {where}", flush=True)
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
                      denoise: bool | None) -> str:
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
    if hasattr(cycles, "use_adaptive_sampling"):
        cycles.use_adaptive_sampling = samples >= 64
    want = samples >= DENOISE_FROM_SAMPLES if denoise is None else bool(denoise)
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


def _video_output(scene: bpy.types.Scene, out_path) -> None:
    """H.264 video and AAC audio in an MP4 at ``out_path`` (absolute, ending in .mp4)."""
    path = Path(out_path).expanduser().absolute()
    if path.suffix.lower() != ".mp4":
        path = path.with_name(path.name + ".mp4")
    render = scene.render
    settings = render.image_settings
    if hasattr(settings, "media_type"):  # 5.0+: FFMPEG is refused until the type is VIDEO
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    ffmpeg = render.ffmpeg
    ffmpeg.format = "MPEG4"
    ffmpeg.codec = "H264"
    ffmpeg.constant_rate_factor = "HIGH"
    ffmpeg.ffmpeg_preset = "GOOD"
    ffmpeg.gopsize = max(1, int(round(render.fps / render.fps_base)))
    ffmpeg.audio_codec = "AAC"
    ffmpeg.audio_channels = "STEREO"
    ffmpeg.audio_mixrate = 48000
    ffmpeg.audio_bitrate = 192
    render.filepath = str(path)
    render.use_file_extension = True
    render.use_overwrite = True
    # The machine-readable label: a stamp note kept in metadata, never burnt into the pixels.
    render.use_stamp = False
    render.use_stamp_note = True
    render.stamp_note_text = METADATA_NOTE


def label_mp4(path: str | os.PathLike, text: str = METADATA_NOTE) -> bool:
    """Write ``text`` as the MP4's comment and description (iTunes-style metadata), in place.

    Blender keeps its stamp note out of MP4 files (the MP4 muxer drops keys it doesn't know),
    so the machine-readable "AI-generated" label is added to the finished file. Only the
    ``moov`` box changes; this works when it is the last box, as Blender writes it (no media
    data moves). ffprobe then shows ``comment`` and ``description``.

    Returns
    -------
    bool
        True when the label was written, False when the file's layout was not one this
        function rewrites (the file is then left as it was).
    """
    path = Path(path)
    data = path.read_bytes()
    boxes = list(_boxes(data, 0, len(data)))
    if not boxes or boxes[-1][0] != b"moov" or boxes[-1][2] != len(data):
        return False
    _, moov_start, moov_end, moov_header = boxes[-1]
    children = [(kind, data[s:e]) for kind, s, e, _ in _boxes(data, moov_start + moov_header,
                                                             moov_end)]
    items = b"".join(_box(kind, _box(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00"
                                     + text.encode("utf-8")))
                     for kind in (b"\xa9cmt", b"desc"))
    udta = next((raw for kind, raw in children if kind == b"udta"), None)
    new_udta = _box(b"udta", _with_items(udta[8:] if udta is not None else b"", items))
    body = b"".join(raw for kind, raw in children if kind != b"udta") + new_udta
    moov = _box(b"moov", body)
    tmp = path.with_name(f".{path.name}.label.part")
    tmp.write_bytes(data[:moov_start] + moov)
    os.replace(tmp, path)
    return True


def _with_items(udta_body: bytes, items: bytes) -> bytes:
    """The udta content with ``items`` in its meta/ilst (made when missing), same keys replaced."""
    children = [(kind, udta_body[s:e]) for kind, s, e, _ in _boxes(udta_body, 0, len(udta_body))]
    meta = next((raw for kind, raw in children if kind == b"meta"), None)
    if meta is None:
        handler = _box(b"hdlr", b"\x00" * 8 + b"mdirappl" + b"\x00" * 9)
        inner = [(b"hdlr", handler)]
        version = b"\x00\x00\x00\x00"
    else:
        version = meta[8:12]
        inner = [(kind, meta[s:e]) for kind, s, e, _ in _boxes(meta, 12, len(meta))]
    ilst = next((raw for kind, raw in inner if kind == b"ilst"), b"")
    keep = [ilst[s:e] for kind, s, e, _ in _boxes(ilst, 8, len(ilst))
            if kind not in (b"\xa9cmt", b"desc")] if ilst else []
    new_ilst = _box(b"ilst", b"".join(keep) + items)
    new_meta = _box(b"meta", version + b"".join(raw for kind, raw in inner if kind != b"ilst")
                    + new_ilst)
    return b"".join(raw for kind, raw in children if kind != b"meta") + new_meta


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def _boxes(data: bytes, start: int, end: int):
    """(kind, start, end, header size) of each ISO-BMFF box between ``start`` and ``end``."""
    at = start
    while at + 8 <= end:
        size, kind, header = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8], 8
        if size == 1:
            size, header = int.from_bytes(data[at + 8:at + 16], "big"), 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            return
        yield kind, at, at + size, header
        at += size
