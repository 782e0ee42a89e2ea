"""Revive's data as Blender objects: the head's mesh and shape keys, materials, rig, portrait.

- ``head`` the mesh, shape keys and region vertex groups under a pivot (glTF axes to Z-up);
- ``materials`` skin, eye, teeth and mouth materials chosen by region name;
- ``rig`` the face controls (one slider per shape key) and their drivers;
- ``portrait`` what portrait mode needs: the photo's camera, projection UVs, border fade.
"""
