"""Texture: a complete, delit albedo of the person's skin from their photos.

``bake_texture`` runs the stages, one module each:

- ``uv``: where each texel lies on the mesh, and its left-right mirror;
- ``project``: each photo sampled into UV space where visible, with a per-texel confidence;
- ``tone``: sRGB decoding; grayscale and sepia photos get an estimated skin colour;
- ``light``: each photo's lighting (2nd-order spherical harmonics) estimated and divided out;
- ``fuse``: colour equalisation between photos, multi-band seam blending, smooth fills;
- ``complete``: a GAN trained on the person's visible skin fills what no photo saw;
- ``regions``: eyes, teeth, gums, mouth interior and lashes get textures of their own.
"""
from revive_core.avatar.texture.bake import METHODS, TextureResult, bake_texture
from revive_core.avatar.texture.complete import CompletionSettings, load_generator, save_generator
from revive_core.avatar.texture.project import PhotoView

__all__ = ["METHODS", "TextureResult", "bake_texture", "CompletionSettings", "PhotoView",
           "load_generator", "save_generator"]
