"""Rendering a Revive video: render settings, the resumable frame cache, the headless entry.

- ``settings`` engine, device (GPU when there is one) and quality presets, the video's label;
- ``frames`` the per-video frame cache and the encoding of the labelled MP4;
- ``batch`` the headless entry for ``blender -b --python`` and the ``bpy`` module.
"""
