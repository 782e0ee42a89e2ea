"""Revive for Blender: import a Revive avatar and take, and render the talking head to video.

The add-on is an extension (blender_manifest.toml) and also loads as a legacy add-on. Its
folders, by job (as in Khronos' glTF add-on, the tree says what each module does):

- ``imp/`` Revive's data as Blender objects: ``head`` the mesh and shape keys, ``materials``
  skin / eye / teeth / mouth by region, ``rig`` the face controls and their drivers,
  ``portrait`` the photo animated in place;
- ``stage/`` ``performance`` the take as NLA layers (mouth, emotion, blinks and gaze, head
  motion), the voice and subtitles; ``stage`` camera, lights, background and the
  "AI-generated" label; ``scene`` the one entry point that builds all of it;
- ``render/`` ``settings`` engine, device and quality presets; ``frames`` the resumable frame
  cache and the encoding of the MP4; ``batch`` the headless entry for ``blender -b`` and the
  ``bpy`` module;
- ``ui/`` ``panels`` the panels, settings and preferences, ``operators`` what they run,
  ``jobs`` the ``revive`` command in the background.

The formats reader (``revive_formats``) is the very same code as ``revive_core.formats``;
``about`` holds the add-on's package name and version. Imports go one way: ``revive_formats``
and ``about`` < ``imp`` < ``stage`` < ``render`` < ``ui`` (tests/test_architecture.py).
"""
from .ui import panels

bl_info = {  # read only when installed as a legacy add-on; extensions use blender_manifest.toml
    "name": "Revive",
    "author": "Revive contributors",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "View3D > Sidebar > Revive",
    "description": "Import Revive avatars and takes, and render the talking head to video",
    "category": "Import-Export",
}

__all__ = ["register", "unregister"]


def register() -> None:
    panels.register()


def unregister() -> None:
    panels.unregister()
