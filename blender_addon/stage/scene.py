"""Building a Revive scene in Blender: the head, its performance, the stage. One entry point.

No user interface here (see ``ui``) and no render settings (see ``render.settings``). The
headless batch entry (``render.batch``) builds its scene with this one function; the add-on's
operators run the same steps one at a time, as the person asks for them:

- ``imp.head``: the mesh, shape keys, materials, face controls and what portrait mode needs;
- ``stage.performance``: the take as NLA layers, the voice and subtitles;
- ``stage.stage``: camera, lights, background and the "AI-generated" label.

Functions
---------
build_scene     avatar + take -> head, layered animation, stage: what a render needs
"""
from __future__ import annotations

import bpy

from ..imp.head import import_avatar
from ..revive_formats import Avatar, Take
from .performance import add_subtitles, apply_take
from .stage import setup_stage

__all__ = ["build_scene"]


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
