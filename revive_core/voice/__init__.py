"""Voice: the words of a line turned into speech with the time of every phoneme and word.

Either the line is spoken (offline text-to-speech, English and Mandarin Chinese), or a real
recording of the person is aligned to its transcript (written by Whisper when none is given).
Both give a :class:`~revive_core.voice.timing.Speech` for the take stage to animate.

Modules
    timing      Speech, Phoneme and Word: timed speech, the stage's output
    textnorm    numbers, dates, money and abbreviations written as words
    speech      text -> audio + phoneme and word times (espeak-ng)
    audio       read recordings of any common kind (WAV, MP3, M4A, AMR, WeChat SILK ...)
    transcribe  recording -> text (Whisper base, offline)
    align       recording + transcript -> phoneme and word times
"""
