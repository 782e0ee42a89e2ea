"""Take: a spoken line turned into a facial performance, written as a Take folder.

Modules
    animate     timed speech + emotion -> ARKit blendshape curves, head rotation and gaze
    cues        mouth cues in Rhubarb Lip Sync's formats, for 2D rigs and other tools
    say         text or a recording -> speech -> emotion -> animation -> Take folder
"""
