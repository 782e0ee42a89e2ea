"""Text: language-level helpers that every stage reading words shares (no speech, no emotion).

Modules
    language            whether a text is Mandarin Chinese or English
    sentences           a text cut into sentences (English and Chinese punctuation)
    sentence_embedding  one vector per sentence (built-in multilingual-e5-small, or a local model)
"""
