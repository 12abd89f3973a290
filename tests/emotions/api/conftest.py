import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Test users are created by the dozen here; PBKDF2's deliberate slowness only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
