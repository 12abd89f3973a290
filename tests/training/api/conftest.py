# The API tests of both apps create users by the dozen: the same fast hashing as tests/emotions/api.
from tests.emotions.api.conftest import fast_password_hashing  # noqa: F401
