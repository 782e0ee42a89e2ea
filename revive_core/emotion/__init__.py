"""Emotion: each line labelled with one of seven emotions and how strongly it shows.

The labels (joy, sadness, anger, fear, surprise, disgust, neutral, with an intensity 0..1)
drive the face's expression in the take stage.

Modules
    lexicon     emotion words and phrases of English and Mandarin Chinese, with modifiers
    classify    the classifiers (built-in: lexicon + sentence embeddings; lexicon alone; a local
                model) and the labelling of a text or of each of its sentences
    prosody     a recording's pitch, loudness, speaking rate, pauses and spectral tilt
    voice       the emotion in a voice: the built-in prosody model, or a local model by path
    combine     one emotion from the text's and the voice's
    face        the emotion a face shows, from its ARKit blendshape weights (FACS rules)
"""
