"""Settings for the test suite: the real settings, with a test secret and a fast hasher."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-deployment")

from .settings import *  # noqa: F403
from .settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# No manifest in tests: they never run collectstatic.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Channels' origin check reads this once, when the ASGI app is imported.
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Connections opened in thread pools (Channels, sync_to_async) close after use, so the test
# database can be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# The test database is created and dropped by the test runner: no pool holding it open.
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405
