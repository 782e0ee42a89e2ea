"""Revive's file formats: the Avatar and the Take.

This package is the one reader and writer of both formats. It depends on the standard library
and numpy only, so the Blender add-on ships the very same code (build_addon.py copies it into
the extension zip). Everything written here is atomic; everything read is validated and never
unpickled.
"""
from .arkit import ARKIT_BLENDSHAPES
from .avatar import AVATAR_FORMAT, AVATAR_VERSION, Avatar, read_avatar, write_avatar
from .errors import FormatError, ReviveError
from .take import TAKE_FORMAT, TAKE_VERSION, Take, read_take, write_take

__all__ = [
    "ARKIT_BLENDSHAPES",
    "AVATAR_FORMAT",
    "AVATAR_VERSION",
    "Avatar",
    "FormatError",
    "ReviveError",
    "TAKE_FORMAT",
    "TAKE_VERSION",
    "Take",
    "read_avatar",
    "read_take",
    "write_avatar",
    "write_take",
]
