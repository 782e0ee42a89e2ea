"""Revive: photos, words and a voice rebuilt as a talking 3D avatar, rendered in Blender."""
__version__ = "0.1.0"
