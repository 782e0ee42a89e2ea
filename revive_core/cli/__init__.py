"""The ``revive`` command: parses arguments, calls the stages and reports; no stage imports it.

Modules
    main        ``revive`` itself: build, say, render, preview, demo, bench, and the commands
                of the modules below
    emotion     ``revive emotion``
    persona     ``revive persona import`` and ``revive chat``
    describe    ``revive inspect``: what a video, an avatar or a take says about itself
    model       ``revive model import-ict`` and ``revive model list``
"""
