"""The local stack behind `make run` and `make test`: no root, no Docker."""
