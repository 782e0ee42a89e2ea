"""Avatar: photos of a person rebuilt as a textured, rigged 3D head (an Avatar folder).

photos -> detect -> fit -> texture (+ hair) -> Avatar (with an ``avatar.glb`` export).

Modules and packages
    consent     the consent record every avatar carries
    detect      faces and their 478 landmarks in photos (mediapipe)
    segment     where the person is in a photo (mediapipe selfie segmentation)
    model       morphable face models: the format, the built-in and default models, importers
    fit         a morphable model fitted to the landmarks (and shading) of all photos
    texture     a complete, delit albedo of the skin from the photos
    hair        where the hair is in the photo, its colour and volume over the scalp
    gltf        the Avatar exported as binary glTF with one morph target per blendshape
    build       the whole stage: photos -> Avatar folder
"""
