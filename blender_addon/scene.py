"""Building a Revive scene in Blender: the head, its performance, the stage. One entry point.

No user interface here (see ``ui.py``) and no render settings (see ``render_settings.py``).
The add-on's operators and the headless batch entry (``batch.py``) build the same scene with
the same functions, gathered here from the modules that do each job:

- ``head``: the mesh, shape keys, materials (``materials``), face controls (``rig``) and what
  portrait mode needs (``portrait``);
- ``performance``: the take as NLA layers, the voice and subtitles;
- ``stage``: camera, lights, background and the "AI-generated" label.

Functions
---------
build_scene     avatar + take -> head, layered animation, stage: what a render needs
import_avatar   (head) the textured, rigged head
apply_take      (performance) the take on a head
setup_stage     (stage) camera, lights, background and label
"""
from __future__ import annotations

import bpy

from .head import PROP_AVATAR, find_head, import_avatar
from .performance import add_subtitles, apply_take
from .revive_formats import Avatar, Take
from .stage import check_resolution, fit_label, setup_stage

__all__ = ["PROP_AVATAR", "apply_take", "build_scene", "check_resolution", "find_head",
           "fit_label", "import_avatar", "setup_stage"]


def build_scene(scene: bpy.types.Scene, avatar: Avatar, take: Take, *, subtitles: bool = False,
                **stage) -> bpy.types.Object:
    """Import ``avatar`` into ``scene``, animate it with ``take`` and set the stage.

    Parameters
    ----------
    scene : bpy.types.Scene
        Usually an empty scene.
    avatar, take : Avatar, Take
        Read with ``read_avatar`` and ``read_take``.
    subtitles : bool
        Add the take's subtitles as text strips (they are burnt into the video).
    **stage
        Keyword arguments of ``setup_stage``: mode, resolution, framing, light, background,
        visible_label, label_position, label_size.

    Returns
    -------
    bpy.types.Object
        The head.
    """
    head = import_avatar(avatar, scene=scene)
    apply_take(head, take, scene=scene)
    setup_stage(scene, head, **stage)
    if subtitles:  # sized for the resolution the stage settled on
        add_subtitles(scene, take.subtitles_srt, take.fps)
    return head
