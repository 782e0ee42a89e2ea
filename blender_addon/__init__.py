"""Revive for Blender: import a Revive avatar and take, and render the talking head to video.

The add-on is an extension (blender_manifest.toml) and also loads as a legacy add-on. Its
modules: ``scene`` builds the head, animation, camera, lights and label; ``render_settings``
sets engine, device and video output; ``ui`` holds the panel, operators and preferences;
``batch`` is the headless entry for ``blender -b`` and the ``bpy`` module. The formats reader
(``revive_formats``) is the very same code as ``revive_core.formats``.
"""
bl_info = {  # read only when installed as a legacy add-on; extensions use blender_manifest.toml
    "name": "Revive",
    "author": "Revive contributors",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "View3D > Sidebar > Revive",
    "description": "Import Revive avatars and takes, and render the talking head to video",
    "category": "Import-Export",
}

from . import render_settings, scene, ui  # noqa: E402

__all__ = ["register", "render_settings", "scene", "ui", "unregister"]


def register() -> None:
    ui.register()


def unregister() -> None:
    ui.unregister()
