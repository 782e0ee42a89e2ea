"""What the add-on says about itself: its package name and its version.

A leaf module, so that every module of the add-on can read them without importing the
package's ``__init__`` (which imports the user interface, which imports them: a circle).
``bl_info`` in ``__init__.py`` must stay a literal (Blender reads it without running the
file), so the version is written there, here and in blender_manifest.toml; a test checks that
the three agree.
"""
from __future__ import annotations

__all__ = ["PACKAGE", "VERSION"]

# "blender_addon" from a checkout or a pip install, "bl_ext.user_default.revive" as an
# extension: the key of the add-on's preferences.
PACKAGE: str = __package__
VERSION: tuple[int, int, int] = (0, 1, 0)
