"""The one error the recognition core raises for bad input."""


class InvalidImageError(ValueError):
    """The bytes given as an image cannot be used: empty, not a JPEG or PNG, corrupt, truncated,
    or larger than the configured byte or pixel limit.

    The message says which, in words fit to show to the person who sent the image
    (for example "image is 2.4 MB; the limit is 2 MB").
    """
