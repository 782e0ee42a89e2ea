"""One take's frames, or many takes, rendered across machines on a cluster (Dask distributed).

The take's frames are split into chunks; each chunk is one Blender render (the same
``render_video`` as on one machine, with ``--frames START-END``) run as a task on a worker that
declares the ``blender`` resource. Every frame lands atomically in the shared frame cache
``VIDEO.mp4.frames/``, and once all are there one more task encodes and labels the video
exactly as a single-machine render does. Shared storage is assumed: every worker sees the
avatar, the take and the output folder at the same paths.

Modules
    backend   the thin cluster interface (``Cluster``) and its Dask implementation (``connect``)
    chunks    how a take's frames are split into chunks
    cache     the shared frame cache seen from the core: complete frames, atomic moves, its key
    tasks     what runs on a worker: the path check, the cache probe, one chunk, the encode
    driver    the client side: one take's render as a small state machine, ``render_on_cluster``
"""
