"""FER-2013's classes and splits: the contract every data set, model and page of Moodlens shares.

Plain Python with no imports, at the top level so that both cores may use it without reaching
into each other's app: `emotions.recognition` must not import `training`, and `training` never
imports `emotions`.
"""

# The seven emotions in FER-2013's class order: a data set's label i, a model's output i.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# The splits of FER-2013's `Usage` column, in the order of the shared `.npz`'s `usage` indices.
SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
