"""The one error type for every provider failure: what happened, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

# Failures a retry cannot fix: the request or the credentials must change first.
PERMANENT_KINDS = frozenset(
    {
        "invalid_credentials",
        "forbidden",
        "account_suspended",
        "not_found",
        "invalid_request",
        "gone",
        "needs_reauth",
        # The record changed or exists: the caller fetches and decides (the sync engine
        # re-reads on a 412; a create finds its own record on a 409), repeating cannot help.
        "conflict",
        "precondition_failed",
    }
)


@dataclass
class ProviderError(Exception):
    """A provider call that failed.

    kind        what went wrong, in the words of specs.ERROR_KINDS (plus "needs_reauth",
                "timeout", "connection")
    permanent   True when retrying the same call cannot succeed
    retry_after seconds the provider asked us to wait, when it said
    Messages never contain credentials: they are built from status codes and provider error
    codes, never from request headers.
    """

    provider: str
    kind: str
    message: str
    status: int | None = None
    retry_after: float | None = None
    permanent: bool | None = None

    def __post_init__(self) -> None:
        if self.permanent is None:
            self.permanent = self.kind in PERMANENT_KINDS
        super().__init__(str(self))

    @property
    def gone(self) -> bool:
        """The record is not there (404 or 410): for a delete, that is done."""
        return self.kind in ("not_found", "gone")

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.provider}: {self.kind}{status}: {self.message}"

    def __reduce__(self):
        # Survives pickling (Celery results, multiprocessing) with every field.
        fields = (
            self.provider,
            self.kind,
            self.message,
            self.status,
            self.retry_after,
            self.permanent,
        )
        return (self.__class__, fields)

    @property
    def retryable(self) -> bool:
        return not self.permanent


VENDOR_MESSAGES = {
    "invalid_credentials": "{name} did not accept these credentials. Check that you copied the "
    "whole key, with no spaces, from your {name} account.",
    "forbidden": "{name} accepted the credentials but does not allow this access. Check that "
    "the key has read and write permission.",
    "account_suspended": "{name} says this account is suspended or inactive. Reactivate it in "
    "{name}, then try again.",
    "needs_reauth": "{name} no longer accepts the hub's access. Link the account again.",
    "rate_limited": "{name} asked us to slow down. Nothing was saved; try again in a minute.",
    "unavailable": "{name} is not answering right now. Nothing was saved; try again in a few "
    "minutes.",
    "timeout": "{name} took too long to answer. Nothing was saved; try again in a few minutes.",
    "connection": "We could not reach {name}. Nothing was saved; try again in a few minutes.",
}


def vendor_message(error: ProviderError, provider_name: str) -> str:
    """The failure in words a vendor understands."""
    template = VENDOR_MESSAGES.get(error.kind)
    if template is None:
        return f"{provider_name} refused the request: {error.message}"
    return template.format(name=provider_name)
