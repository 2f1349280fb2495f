"""Credentials at rest: AES-256-GCM inside django-fernet-fields-v2's field machinery.

The fields keep fernet_fields' model-field behaviour and its key list, settings.FERNET_KEYS (the
first key encrypts, every key decrypts), but the cipher is AES-256-GCM (Fernet itself is
AES-128-CBC with HMAC) with a 256-bit key derived from each configured key by HKDF-SHA256.
Each value is bound to its table and column as associated data, so a ciphertext copied into
another column does not decrypt.

Token layout: version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | ciphertext + tag.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models
from django.utils.encoding import force_bytes, force_str
from fernet_fields import EncryptedField

VERSION = b"\x01"
NONCE_BYTES = 12
HEADER_BYTES = 1 + 4 + NONCE_BYTES


class DecryptionError(Exception):
    """No configured key decrypts the value (the key was removed, or the data was altered)."""


def derive_key(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"wedsync-hub credentials aes-256-gcm",
    ).derive(force_bytes(secret))


class Keyring:
    def __init__(self, secrets: tuple[str, ...]) -> None:
        if not secrets:
            raise ValueError("FERNET_KEYS is empty: at least one key is needed")
        self.keys = [derive_key(secret) for secret in secrets]
        self.ids = [hashlib.sha256(key).digest()[:4] for key in self.keys]

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, plaintext, associated_data)
        return VERSION + self.ids[0] + nonce + sealed

    def decrypt(self, token: bytes, associated_data: bytes) -> bytes:
        if len(token) < HEADER_BYTES + 16 or token[:1] != VERSION:
            raise DecryptionError("not an AES-256-GCM token of this hub")
        key_id, nonce, sealed = token[1:5], token[5:HEADER_BYTES], token[HEADER_BYTES:]
        # The key the id names first; the rest only in the unlikely case of an id collision.
        candidates = sorted(
            zip(self.ids, self.keys, strict=True), key=lambda pair: pair[0] != key_id
        )
        for candidate_id, key in candidates:
            if candidate_id != key_id:
                continue
            try:
                return AESGCM(key).decrypt(nonce, sealed, associated_data)
            except InvalidTag:
                continue
        raise DecryptionError("no configured key decrypts this value")

    def uses_primary_key(self, token: bytes) -> bool:
        return bytes(token[1:5]) == self.ids[0]


@lru_cache(maxsize=8)
def _keyring(secrets: tuple[str, ...]) -> Keyring:
    return Keyring(secrets)


def current_keyring() -> Keyring:
    return _keyring(tuple(settings.FERNET_KEYS))


class _ColumnCipher:
    """What fernet_fields' EncryptedField expects of `self.fernet`, for one column."""

    def __init__(self, associated_data: bytes) -> None:
        self.associated_data = associated_data

    def encrypt(self, plaintext: bytes) -> bytes:
        return current_keyring().encrypt(plaintext, self.associated_data)

    def decrypt(self, token: bytes) -> bytes:
        return current_keyring().decrypt(bytes(token), self.associated_data)


class AESGCMEncryptedField(EncryptedField):
    """Swaps the cipher; reads the key list on every use so key changes apply at once."""

    @property
    def fernet(self) -> _ColumnCipher:  # type: ignore[override]
        return _ColumnCipher(self.associated_data)

    @property
    def associated_data(self) -> bytes:
        return f"wedsync:{self.model._meta.db_table}.{self.column}".encode()

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, f"{self.__class__.__module__}.{self.__class__.__name__}", args, kwargs


class EncryptedTextField(AESGCMEncryptedField, models.TextField):
    pass


class EncryptedJSONField(AESGCMEncryptedField, models.TextField):
    """A dict (or any JSON value) stored encrypted."""

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, sort_keys=True)

    def from_db_value(self, value, expression, connection, *args) -> Any:
        if value is None:
            return None
        return json.loads(force_str(self.fernet.decrypt(bytes(value))))

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj) -> str:
        return "<encrypted>"
