"""What the API's resource modules share: the route registry and reading requests."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

import hub
from hub.domain.errors import InvalidInput, MalformedPayload
from hub.services.channel_settings import MASK
from hub.web.bodies import read_limited
from hub.web.keys import hub_of
from hub.web.openapi import Api
from hub.web.schemas import DbId

api = Api("/api/v1", "Kefu Hub API", hub.__version__, path_id=DbId)
Model = TypeVar("Model", bound=BaseModel)
__all__ = ["MASK", "api", "changes_of", "path_id", "read_body", "read_query"]


def changes_of(body: BaseModel, not_null: tuple[str, ...]) -> dict[str, Any]:
    """The fields a PATCH body sets; refuses nulls where null means nothing, and no change."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for field in not_null:
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} may not be null; leave it out to keep it as it is")
    if not changes:
        raise InvalidInput(f"nothing to change: give {', '.join(type(body).model_fields)}")
    return changes


async def read_body(request: web.Request, model: type[Model]) -> Model:
    raw = await read_limited(request, hub_of(request).settings.max_body_bytes)
    try:
        data = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any API body
        raise MalformedPayload("the body is not valid JSON") from None
    return model.model_validate(data)


def read_query(request: web.Request, model: type[Model]) -> Model:
    return model.model_validate(dict(request.query))


def path_id(request: web.Request, name: str = "id") -> int:
    """The id in the path as a ``DbId`` (the registry refused anything else with a 404)."""
    return api.path_int(request, name)
