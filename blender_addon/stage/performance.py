"""The take in Blender: layers an artist edits separately, the voice, optional subtitles.

A take becomes NLA tracks, one action each (a "slotted" action in Blender 4.4 and later; a
5.0 action holds one layer only, so the layers are NLA tracks in every version):

================  ====================  ======  ============================================
track             object                blend   what it holds
================  ====================  ======  ============================================
Mouth             Revive Face Controls  replace visemes: jaw, lips, cheek puff, tongue
Emotion           Revive Face Controls  add     the emotion's action units: brows, smile...
Blinks and gaze   Revive Face Controls  add     eyelids, and gazeYaw / gazePitch
Head motion       Revive Head (pivot)   replace nods, turns and tilts (Euler YXZ)
================  ====================  ======  ============================================

The face tracks key the face controls (see ``imp.rig``), whose drivers move the shape keys; the
controls clamp to 0..1, so mouth + emotion + blinks gives exactly the take's combined curve.
A take written by ``revive say`` carries its layers (``Take.layers``); an older take, or one
from elsewhere, is split by channel name instead (``layer_of``). The voice is a sound strip;
subtitles (the take's ``take.srt``), when asked for, are text strips above it.

Functions
---------
apply_take           animate a head with a take: the four tracks, fps, frame range, audio
take_layers          a take's blendshape curves per layer
layer_of             the layer a blendshape belongs to by its name
add_subtitles        the take's subtitles as text strips in a scene's sequencer
set_head_motion      scale the head motion track (portrait mode keeps the motion small)
new_sound_strip      a sound strip, or None (with a note) where Blender was built without sound
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

import bpy
import numpy as np

from ..imp.head import PROP_AVATAR, find_head, head_pivot
from ..imp.rig import find_controls
from ..revive_formats import ReviveError, Take
from ..revive_formats.take import wav_bytes

__all__ = ["HEAD_TRACK", "LAYER_TRACKS", "SOUND_STRIP_NAME", "SUBTITLE_PREFIX", "add_subtitles",
           "apply_take", "layer_of", "new_sound_strip", "set_head_motion", "take_layers"]

# take layer -> (NLA track name, blend type), bottom to top
LAYER_TRACKS = {"mouth": ("Mouth", "REPLACE"), "emotion": ("Emotion", "ADD"),
                "blinks": ("Blinks and gaze", "ADD")}
HEAD_TRACK = "Head motion"
SOUND_STRIP_NAME = "Revive voice"
SUBTITLE_PREFIX = "Revive subtitle"
_MOUTH = ("jaw", "mouth", "cheekPuff", "tongue")
_BLINKS = ("eyeBlink", "eyeLook", "eyeSquint", "eyeWide")
_SRT_TIME = re.compile(r"(\d+):(\d+):(\d+)[,.](\d+)\s*-->\s*(\d+):(\d+):(\d+)[,.](\d+)")


def layer_of(name: str) -> str:
    """The layer of an ARKit blendshape by name, for takes that carry no layers.

    mouth: jaw*, mouth*, cheekPuff, tongue*; blinks: eyeBlink*, eyeLook*, eyeSquint*,
    eyeWide*; emotion: brows, cheekSquint*, noseSneer* and anything else.
    """
    if name.startswith(_MOUTH):
        return "mouth"
    if name.startswith(_BLINKS):
        return "blinks"
    return "emotion"


def take_layers(take: Take) -> dict[str, dict[str, np.ndarray]]:
    """The take's blendshape curves per layer ("mouth", "emotion", "blinks").

    Returns
    -------
    dict of str to dict of str to np.ndarray [shape=(N,)]
        The take's own layers when it has them (unknown layer names go to "emotion"), else
        each combined curve in the layer ``layer_of`` names. Curves that are zero on every
        frame are left out.
    """
    layers: dict[str, dict[str, np.ndarray]] = {name: {} for name in LAYER_TRACKS}
    if take.layers:
        for layer, curves in take.layers.items():
            target = layers[layer if layer in layers else "emotion"]
            for name, values in curves.items():
                target[name] = target.get(name, 0.0) + np.asarray(values, dtype=np.float32)
    else:
        for name in take.blendshape_names:
            layers[layer_of(name)][name] = take.curve(name).astype(np.float32)
    return {layer: {n: v for n, v in curves.items() if np.any(v)}
            for layer, curves in layers.items()}


def apply_take(head: bpy.types.Object, take: Take, *, audio_path: str | os.PathLike | None = None,
               scene: bpy.types.Scene | None = None, subtitles: bool = False) -> None:
    """Animate ``head`` with ``take``: layered tracks, fps, frame range, sound and subtitles.

    Frame i of the take (0-based) is Blender frame i + 1. The tracks, sound strip and
    subtitles of an earlier take are replaced.

    Parameters
    ----------
    head : bpy.types.Object
        A head made by ``import_avatar`` (its pivot or controls will do).
    take : Take
        The performance (read with ``read_take``).
    audio_path : path, optional
        Where to write the take's audio as a WAV file for the sound strip (Blender plays sound
        from files); the strip then refers to that file. By default the audio goes through a
        temporary file and is packed into the .blend, so nothing is left behind.
    scene : bpy.types.Scene, optional
        Scene whose fps, frame range and sequencer are set; the context's scene by default.
    subtitles : bool
        Add the take's subtitles as text strips (when the take has them).

    Notes
    -----
    Head rotation [pitch, yaw, roll] in degrees turns about Revive's X, Y and Z axes
    (right-handed), applied roll first, then pitch, then yaw. In Blender's axes this is an
    Euler rotation in "YXZ" order with x = pitch, y = -roll, z = yaw, keyed on the
    "Revive Head" pivot.
    """
    scene = scene or bpy.context.scene
    found = find_head(head)
    controls = find_controls(found) if found is not None else None
    if found is None or controls is None:
        raise ReviveError(f"{head.name if head else 'Nothing'} is not a Revive head.",
                          "Select a head imported with Revive > Import Avatar first.")
    head = found
    n = take.frame_count
    frames = np.arange(1, n + 1, dtype=np.float32)

    layers = take_layers(take)
    names = {name for curves in layers.values() for name in curves}
    missing = sorted(name for name in names if name not in controls)
    if take.blendshape_names and not any(name in controls for name in take.blendshape_names):
        raise ReviveError(f"The take drives none of the blendshapes of {head.name!r} "
                          f"(it drives {', '.join(take.blendshape_names[:4])}...).",
                          "Make the take for this avatar, or import the avatar it was made for.")
    if missing:
        print(f"Revive: the avatar has no shape keys for {len(missing)} of the take's "
              f"blendshapes ({', '.join(missing[:6])}); they are left out.")
    made_for = (take.avatar or {}).get("name")
    if made_for and made_for != head.get(PROP_AVATAR):
        print(f"Revive: note: this take was made for the avatar {made_for!r}, "
              f"not {head.get(PROP_AVATAR)!r}.")

    # The face: one NLA track per layer on the controls; gaze goes with the blinks.
    _clear_tracks(controls, [title for title, _ in LAYER_TRACKS.values()])
    for name in [n for n in controls.keys() if isinstance(controls[n], float)]:
        controls[name] = 0.0
    curves_by_layer = {layer: {f'["{_escape(name)}"]': values for name, values in curves.items()
                               if name in controls}
                       for layer, curves in layers.items()}
    for axis, prop in enumerate(("gazeYaw", "gazePitch")):
        if np.any(take.gaze_deg[:, axis]):
            curves_by_layer["blinks"][f'["{prop}"]'] = take.gaze_deg[:, axis].astype(np.float32)
    for layer, (title, blend) in LAYER_TRACKS.items():
        paths = curves_by_layer[layer]
        if paths:
            _add_track(controls, f"{head.name} {title.lower()}", title, blend,
                       [(path, 0, values) for path, values in paths.items()], frames)

    # The head: rotation on the pivot.
    pivot = head_pivot(head)
    pivot.rotation_mode = "YXZ"
    _clear_tracks(pivot, [HEAD_TRACK])
    radians = np.radians(np.asarray(take.head_rotation_deg, dtype=np.float64))
    euler = np.stack([radians[:, 0], -radians[:, 2], radians[:, 1]], axis=1).astype(np.float32)
    pivot.rotation_euler = (0.0, 0.0, 0.0)
    _add_track(pivot, f"{head.name} head motion", HEAD_TRACK, "REPLACE",
               [("rotation_euler", axis, euler[:, axis]) for axis in range(3)], frames)

    # Timing: fps (fractional rates through fps_base), frames 1..N.
    fps, fps_base = _fps(take.fps)
    scene.render.fps, scene.render.fps_base = fps, fps_base
    scene.frame_start, scene.frame_end = 1, n
    scene.render.use_sequencer = False  # the sequencer holds sound and subtitles, not the picture
    scene.frame_set(1)

    _set_sound(scene, take, audio_path)
    add_subtitles(scene, take.subtitles_srt if subtitles else None, take.fps)
    scene["revive_take_text"] = take.text
    scene["revive_take_language"] = take.language
    head["revive_take_frames"] = n


def set_head_motion(head: bpy.types.Object, influence: float) -> None:
    """Play the head motion track at ``influence`` (0..1) of its strength."""
    pivot = head_pivot(head)
    animation = pivot.animation_data
    track = animation.nla_tracks.get(HEAD_TRACK) if animation is not None else None
    if track is None:
        return
    for strip in track.strips:
        strip.use_animated_influence = True  # a fixed influence needs this flag (and a key)
        strip.influence = influence
        curve = strip.fcurves.find("influence")
        if curve is not None:
            for point in curve.keyframe_points:
                point.co.y = influence
            curve.update()


def add_subtitles(scene: bpy.types.Scene, srt: str | None, fps: float) -> list:
    """Replace the scene's Revive subtitle strips with the cues of ``srt`` (SubRip text).

    Cues become text strips in channel 2, centred near the bottom, white on a dark box.
    Returns the new strips; none when ``srt`` is None or empty.
    """
    strips = _strips(scene)
    for strip in [s for s in strips if s.name.startswith(SUBTITLE_PREFIX)]:
        strips.remove(strip)
    made = []
    height = scene.render.resolution_y
    for index, (start_s, end_s, text) in enumerate(_cues(srt or ""), 1):
        first = int(round(start_s * fps)) + 1
        last = max(first + 1, int(round(end_s * fps)) + 1)
        try:
            strip = strips.new_effect(f"{SUBTITLE_PREFIX} {index}", type="TEXT", channel=2,
                                      frame_start=first, length=last - first)
        except TypeError:  # before 4.4 effect strips took frame_end
            strip = strips.new_effect(f"{SUBTITLE_PREFIX} {index}", type="TEXT", channel=2,
                                      frame_start=first, frame_end=last)
        strip.text = text
        strip.font_size = max(12, int(0.045 * height))
        strip.location = (0.5, 0.08)
        strip.wrap_width = 0.8
        strip.use_box = True
        strip.box_color = (0.0, 0.0, 0.0, 0.6)
        if hasattr(strip, "anchor_x"):  # 4.4+
            strip.anchor_x, strip.anchor_y, strip.alignment_x = "CENTER", "BOTTOM", "CENTER"
        else:
            strip.align_x, strip.align_y = "CENTER", "BOTTOM"
        made.append(strip)
    return made


def _cues(srt: str) -> list[tuple[float, float, str]]:
    """(start_s, end_s, text) of each SubRip cue; blocks without a time line are skipped."""
    cues = []
    for block in re.split(r"\r?\n\s*\r?\n", srt.strip()):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            match = _SRT_TIME.search(line)
            if match:
                h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
                text = "\n".join(lines[i + 1:]).strip()
                if text:
                    cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000.0,
                                 h2 * 3600 + m2 * 60 + s2 + ms2 / 1000.0, text))
                break
    return cues


def _escape(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _clear_tracks(obj: bpy.types.Object, titles: list[str]) -> None:
    """Remove ``obj``'s tracks with these names and the actions only they used."""
    animation = obj.animation_data
    if animation is None:
        return
    for track in [t for t in animation.nla_tracks if t.name in titles]:
        actions = [s.action for s in track.strips if s.action is not None]
        animation.nla_tracks.remove(track)
        for action in actions:
            if action.users == 0:
                bpy.data.actions.remove(action)


_LINEAR = None


def _add_track(obj: bpy.types.Object, action_name: str, title: str, blend: str,
               curves: list[tuple[str, int, np.ndarray]], frames: np.ndarray) -> None:
    """An action with one linear-keyed F-curve per (data path, index, values), placed as a
    strip in a new NLA track on top of ``obj``'s stack."""
    global _LINEAR
    if _LINEAR is None:
        _LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value
    action = bpy.data.actions.new(action_name)
    if hasattr(action, "slots"):  # Blender 4.4+: F-curves live in a channelbag per slot
        from bpy_extras.anim_utils import action_ensure_channelbag_for_slot

        slot = action.slots.new(id_type="OBJECT", name=obj.name)
        fcurves = action_ensure_channelbag_for_slot(action, slot).fcurves
    else:
        fcurves = action.fcurves
    for data_path, index, values in curves:
        curve = fcurves.new(data_path=data_path, index=index)
        points = curve.keyframe_points
        points.add(len(frames))
        points.foreach_set("co", np.column_stack([frames, values]).astype(np.float32).ravel())
        points.foreach_set("interpolation", np.full(len(frames), _LINEAR, dtype=np.int32))
        curve.update()
    animation = obj.animation_data or obj.animation_data_create()
    track = animation.nla_tracks.new()
    track.name = title
    strip = track.strips.new(title, int(frames[0]), action)
    strip.blend_type = blend


def _fps(rate: float) -> tuple[int, float]:
    """Blender's integer fps and fps_base for a rate: 25 -> (25, 1.0), 29.97 -> (30, 1.001)."""
    if abs(rate - round(rate)) < 1e-6:
        return int(round(rate)), 1.0
    fps = int(math.ceil(rate))
    return fps, fps / rate


def _strips(scene: bpy.types.Scene):
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences  # 5.0 renamed it


def _set_sound(scene: bpy.types.Scene, take: Take, audio_path) -> None:
    strips = _strips(scene)
    for strip in [s for s in strips if s.name.startswith(SOUND_STRIP_NAME)]:
        sound = getattr(strip, "sound", None)
        strips.remove(strip)
        if sound is not None and sound.users == 0:
            bpy.data.sounds.remove(sound)
    data = wav_bytes(take.audio, take.sample_rate)
    if audio_path is not None:
        path = Path(audio_path).resolve()
        if not (path.is_file() and path.read_bytes() == data):
            from ..revive_formats.storage import atomic_write_bytes
            atomic_write_bytes(path, data)
        new_sound_strip(strips, path, channel=1, frame_start=1)
        return
    # Through a temporary file, then packed into the .blend.
    with tempfile.TemporaryDirectory(prefix="revive-audio-") as folder:
        path = Path(folder) / "voice.wav"
        path.write_bytes(data)
        strip = new_sound_strip(strips, path, channel=1, frame_start=1)
        if strip is not None:
            strip.sound.pack()
            strip.sound.filepath = "//revive_voice.wav"


def new_sound_strip(strips, path: Path, *, channel: int, frame_start: int):
    """The voice as a sound strip; None where this Blender has no sound (Audaspace).

    Some builds (the bpy 4.2 module on PyPI, for one) are compiled without sound: the video is
    then silent, and this says so instead of failing.
    """
    try:
        return strips.new_sound(SOUND_STRIP_NAME, str(path), channel=channel,
                                frame_start=frame_start)
    except RuntimeError as exc:
        if "Audaspace" not in str(exc):
            raise
        print("Revive: this Blender was built without sound (Audaspace), so the voice can't "
              "be added and the video will be silent. Blender from blender.org and the bpy 5.0 "
              "module have sound.", flush=True)
        return None
