"""Emulators of vendors' documented HTTP APIs, for tests and the sandbox run."""
