"""Geometry: cameras, meshes, rasterizing and shading helpers that several stages share.

Nothing here knows faces or avatars; the modules take arrays and return arrays.

Modules
    camera              the pinhole camera of a photo (OpenGL convention)
    mesh                smooth vertex normals, vertices split at UV seams
    polyline            distance from points to a polyline in the plane
    raster              a numpy triangle rasterizer (UV space or photo space, depth test)
    spherical_harmonics real spherical harmonics of bands 0..2 (Lambertian irradiance)
    srgb                the sRGB transfer curve and relative luminance
    offscreen           offscreen OpenGL renders of one triangle mesh (pyrender)
"""
