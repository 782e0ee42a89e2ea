"""Frames first, then the video: a per-video frame cache that makes renders resumable.

A render writes each frame as a PNG into ``<video>.frames/`` beside the video
(``frame_000001.png``...), skipping frames already there, and encodes the video (H.264 + AAC,
through Blender's own FFmpeg) only once every frame of the take is in the cache. So a long
take can be split across processes or machines sharing the folder (``--frames 1-500`` here,
``--frames 501-1000`` there), and a render stopped by a crash or Ctrl-C goes on where it
stopped when run again. A frame cut short by a crash is noticed (a PNG must end with its IEND
chunk) and rendered again.

The cache remembers what its frames show (``render.json``: the avatar's and take's content
hashes and the settings that change pixels); frames rendered with anything else are removed
before new ones are written. Each process that renders records the device it used
(``device-<host>-<pid>.json``), and the video's label lists them all.

Functions
---------
frame_cache     the cache folder of a video
open_cache      make or reuse a cache for the given settings, clearing stale frames
record_device   note in the cache which device this process renders with
cached_devices  the devices recorded in a cache
missing_frames  the frames of a range not yet complete in the cache
frame_output    point a scene's render output at the cache (PNG, RGB or RGBA)
render_frames   render the missing frames of a range, printing progress
encode_video    the cached frames + the scene's sound and subtitles -> labelled MP4
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import bpy

from ..revive_formats import ReviveError
from ..revive_formats.label import write_sidecar
from ..revive_formats.progress import frame_line
from ..revive_formats.storage import atomic_write_bytes, complete_png, dumps_json
from ..stage.performance import SOUND_STRIP_NAME, SUBTITLE_PREFIX, new_sound_strip
from .settings import label_mp4

__all__ = ["cached_devices", "encode_video", "frame_cache", "frame_output", "frame_path",
           "missing_frames", "open_cache", "record_device", "render_frames"]

MANIFEST = "render.json"


def frame_cache(video: str | os.PathLike) -> Path:
    """The frame cache of ``video``: ``<video>.frames`` beside it."""
    video = Path(video)
    return video.with_name(video.name + ".frames")


def frame_path(folder: Path, frame: int) -> Path:
    return Path(folder) / f"frame_{frame:06d}.png"


def open_cache(folder: Path, key: dict) -> int:
    """Make ``folder`` a cache for frames described by ``key``; return the frames kept.

    Frames made for another ``key`` (or of unknown origin) are removed first.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReviveError(f"Can't create the frame folder {folder} ({exc.strerror}).",
                          "Choose an output path in a folder you can write to.") from None
    manifest = folder / MANIFEST
    try:
        same = json.loads(manifest.read_text(encoding="utf-8")) == key
    except (OSError, ValueError):
        same = False
    frames = sorted(folder.glob("frame_*.png"))
    if not same:
        if frames:
            print(f"Revive: the {len(frames)} frames in {folder} show another avatar, take or "
                  "settings; rendering them again.", flush=True)
        for stale in [*frames, *folder.glob("device-*.json")]:
            stale.unlink()
        atomic_write_bytes(manifest, dumps_json(key))
        return 0
    return len(frames)


def record_device(folder: Path, device: str) -> None:
    """Record in the cache that this process renders with ``device``."""
    name = f"device-{socket.gethostname()}-{os.getpid()}.json"
    atomic_write_bytes(Path(folder) / name, dumps_json({"device": device}))


def cached_devices(folder: Path) -> list[str]:
    """The devices that rendered the frames of a cache, without repeats, sorted."""
    devices = set()
    for record in Path(folder).glob("device-*.json"):
        try:
            devices.add(str(json.loads(record.read_text(encoding="utf-8"))["device"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(devices)


def missing_frames(folder: Path, start: int, end: int, *, remove_broken: bool = True) -> list[int]:
    """Frames of ``start..end`` (inclusive) without a complete PNG.

    With ``remove_broken`` incomplete PNGs (cut short by a crash) are removed; only do that in
    a range this process renders, since another process may be writing frames elsewhere.
    """
    missing = []
    for frame in range(start, end + 1):
        path = frame_path(folder, frame)
        if path.is_file() and complete_png(path):
            continue
        if remove_broken and path.exists():
            path.unlink()
        missing.append(frame)
    return missing


def frame_output(scene: bpy.types.Scene, folder: Path) -> None:
    """Render ``scene`` into the cache: 8-bit PNGs, RGBA when the film is transparent."""
    render = scene.render
    settings = render.image_settings
    if hasattr(settings, "media_type"):  # 5.0+
        settings.media_type = "IMAGE"
    settings.file_format = "PNG"
    settings.color_mode = "RGBA" if render.film_transparent else "RGB"
    settings.color_depth = "8"
    settings.compression = 15
    render.filepath = str(Path(folder).absolute() / "frame_######")
    render.use_file_extension = True
    render.use_overwrite = False  # Blender itself skips frames already in the cache
    render.use_placeholder = False


def render_frames(scene: bpy.types.Scene, folder: Path, start: int, end: int) -> tuple[int, float]:
    """Render the frames of ``start..end`` that the cache lacks.

    Prints ``Revive: frame <frame> (<i>/<n>)`` after each frame is written.

    Returns
    -------
    (int, float)
        Frames rendered and the seconds it took.
    """
    missing = missing_frames(folder, start, end)
    if not missing:
        return 0, 0.0
    frame_output(scene, folder)
    scene.frame_start, scene.frame_end = missing[0], missing[-1]
    done = [0]

    def frame_written(*_args) -> None:
        done[0] += 1
        print(frame_line(scene.frame_current, done[0], len(missing)), flush=True)

    bpy.app.handlers.render_write.append(frame_written)
    started = time.perf_counter()
    try:
        bpy.ops.render.render(animation=True, scene=scene.name)
    except RuntimeError as exc:
        raise ReviveError(f"Blender could not render the frames: {exc}".rstrip(),
                          "Try --device cpu, a smaller --resolution or fewer --samples.") from None
    finally:
        bpy.app.handlers.render_write.remove(frame_written)
    return done[0], time.perf_counter() - started


def encode_video(scene: bpy.types.Scene, folder: Path, start: int, end: int,
                 out: str | os.PathLike, *, render: dict | None = None) -> Path:
    """Encode the cached frames ``start..end`` with ``scene``'s sound and subtitles.

    A temporary scene holds the frames as an image strip, the voice and any Revive subtitle
    strips (shifted so that ``start`` is the video's first frame) and writes an H.264 + AAC
    MP4 beside ``out``; the label (``label_mp4``, with ``render`` as how the frames were made)
    goes into its metadata and its sidecar, and only then does it replace ``out``.

    Returns
    -------
    Path
        ``out``, absolute.
    """
    out = Path(out).absolute()
    missing = missing_frames(folder, start, end, remove_broken=False)
    if missing:
        raise ReviveError(f"{len(missing)} frames are not rendered yet (the first is "
                          f"{missing[0]}), so the video can't be made.",
                          f"Render them into {folder} first.")
    edit = bpy.data.scenes.new("Revive encode")
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        _copy_timing(scene, edit, end - start + 1)
        strips = _strips(edit)
        images = strips.new_image("Revive frames", str(frame_path(folder, start)), channel=1,
                                  frame_start=1)
        for frame in range(start + 1, end + 1):
            images.elements.append(frame_path(folder, frame).name)
        shift = 1 - start
        _copy_sound(scene, strips, temporary, shift)
        _copy_subtitles(scene, strips, shift)
        partial = temporary / "video.mp4"
        _video_output(edit, partial)
        bpy.ops.render.render(animation=True, scene=edit.name)
        if not partial.is_file() or partial.stat().st_size == 0:
            raise ReviveError("Blender finished without writing the video.",
                              "Run again; if it keeps failing, report it with the output above.")
        label = label_mp4(partial, scene, render=render)
        os.replace(partial, out)
        write_sidecar(out, label)
    except RuntimeError as exc:
        raise ReviveError(f"Blender could not encode the video: {exc}".rstrip()) from None
    finally:
        bpy.data.scenes.remove(edit)
        shutil.rmtree(temporary, ignore_errors=True)
    return out


def _copy_timing(scene: bpy.types.Scene, edit: bpy.types.Scene, count: int) -> None:
    edit.render.resolution_x = scene.render.resolution_x
    edit.render.resolution_y = scene.render.resolution_y
    edit.render.resolution_percentage = 100
    edit.render.fps, edit.render.fps_base = scene.render.fps, scene.render.fps_base
    edit.frame_start, edit.frame_end = 1, count
    edit.render.use_sequencer = True
    # The frames already hold the final colours: pass them through unchanged.
    edit.view_settings.view_transform = "Standard"
    edit.view_settings.look = "None"
    edit.view_settings.exposure, edit.view_settings.gamma = 0.0, 1.0


def _strips(scene: bpy.types.Scene):
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences  # 5.0 renamed it


def _copy_sound(scene: bpy.types.Scene, strips, folder: Path, shift: int) -> None:
    """The scene's Revive voice, from its file or (when packed into the .blend) a copy."""
    editor = scene.sequence_editor
    source = [s for s in (_strips(scene) if editor else []) if s.name.startswith(SOUND_STRIP_NAME)]
    if not source:
        return
    sound = source[0].sound
    if sound.packed_file is not None:
        path = folder / "voice.wav"
        path.write_bytes(sound.packed_file.data)
    else:
        path = Path(bpy.path.abspath(sound.filepath))
    new_sound_strip(strips, path, channel=2, frame_start=int(source[0].frame_start) + shift)


def _copy_subtitles(scene: bpy.types.Scene, strips, shift: int) -> None:
    if scene.sequence_editor is None:
        return
    for strip in [s for s in _strips(scene) if s.name.startswith(SUBTITLE_PREFIX)]:
        start = int(strip.frame_final_start) + shift
        length = int(strip.frame_final_end - strip.frame_final_start)
        try:
            copy = strips.new_effect(strip.name, type="TEXT", channel=3, frame_start=start,
                                     length=length)
        except TypeError:  # before 4.4 effect strips took frame_end
            copy = strips.new_effect(strip.name, type="TEXT", channel=3, frame_start=start,
                                     frame_end=start + length)
        for attribute in ("text", "font_size", "location", "wrap_width", "use_box", "box_color",
                          "color", "anchor_x", "anchor_y", "alignment_x", "align_x", "align_y"):
            if hasattr(strip, attribute):
                setattr(copy, attribute, getattr(strip, attribute))


def _video_output(scene: bpy.types.Scene, path: Path) -> None:
    """H.264 video and AAC audio in an MP4 at ``path``."""
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
    render.filepath = str(path)  # ends in .mp4: Blender adds no frame numbers
    render.use_file_extension = True
    render.use_overwrite = True
