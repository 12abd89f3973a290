"""The seven emotions, in FER-2013's class order (the order of every model's outputs)."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
