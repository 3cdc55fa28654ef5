"""A channel's settings as an admin saves them: validated, secrets kept or required again.

The API shows secrets masked; a form sends the mask back for a secret the admin did not
retype, and the stored value is kept. Not, though, when a field naming where the secrets are
sent (a provider's API address) changes: otherwise an admin could point the channel at their
own server and receive the real secrets. Such an address must also be a host the hub may call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from hub.domain.destinations import host_problem, url_problem
from hub.domain.errors import InvalidInput
from hub.domain.settings import (
    destination_names,
    destination_secrets,
    secret_names,
    validate_settings,
)

#: how the API shows a stored secret; sent back unchanged, it means "keep it"
MASK = "********"


def saved_settings(
    model: type[BaseModel],
    given: object,
    stored: Mapping[str, Any] | None = None,
    *,
    allow_private: bool,
) -> dict[str, Any]:
    """The settings to store, or ``InvalidInput`` with the reason."""
    if not isinstance(given, Mapping):
        raise InvalidInput("settings must be an object")
    stored = stored or {}
    merged = {key: (stored.get(key) if value == MASK else value) for key, value in given.items()}
    result = validate_settings(model, merged)
    destinations = sorted(destination_names(model))
    for name in destinations:
        value = result.get(name)
        problem = destination_problem(str(value), allow_private=allow_private) if value else None
        if problem:
            raise InvalidInput(f"settings.{name}: {problem}")
    kept = {name for name in secret_names(model) if given.get(name) == MASK and stored.get(name)}
    for name in destinations:
        if not stored or result.get(name) == stored.get(name):
            continue
        again = sorted(kept & destination_secrets(model, name))
        if again:
            raise InvalidInput(
                f"settings.{name} changed: enter {', '.join(again)} again, or they would be "
                "sent to the new address"
            )
    return result


def destination_problem(value: str, *, allow_private: bool) -> str | None:
    """An API address (a URL) or a server's host name (a mail server)."""
    if "://" in value:
        return url_problem(value, allow_private=allow_private)
    return host_problem(value, allow_private=allow_private)
