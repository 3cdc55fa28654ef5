"""A small route registry that checks auth and writes the OpenAPI document from pydantic models."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub.domain.errors import Forbidden
from hub.domain.model import Role
from hub.web.auth import authenticate
from hub.web.keys import AGENT_KEY

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: RouteHandler
    summary: str
    tag: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    query: type[BaseModel] | None
    status: int
    auth: bool
    admin: bool


class Api:
    def __init__(self, prefix: str, title: str, version: str) -> None:
        self.prefix = prefix
        self.title = title
        self.version = version
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        status: int = 200,
        auth: bool = True,
        admin: bool = False,
    ) -> Callable[[RouteHandler], RouteHandler]:
        def register(handler: RouteHandler) -> RouteHandler:
            async def guarded(request: web.Request) -> web.StreamResponse:
                if auth:
                    agent = await authenticate(request)
                    if admin and agent.role != Role.ADMIN:
                        raise Forbidden("only an admin may do this")
                    request[AGENT_KEY] = agent
                return await handler(request)

            self.operations.append(
                Operation(
                    method, path, guarded, summary, tag, body, response, query, status, auth, admin
                )
            )
            return handler

        return register

    def add_to(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, self.prefix + op.path, op.handler)

    def document(self, server_url: str) -> dict[str, Any]:
        schemas: dict[str, Any] = {}

        def ref(model: type[BaseModel]) -> dict[str, Any]:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[model.__name__] = schema
            return {"$ref": f"#/components/schemas/{model.__name__}"}

        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            item: dict[str, Any] = {
                "summary": op.summary,
                "tags": [op.tag],
                "operationId": _operation_id(op),
                "responses": {
                    str(op.status): {
                        "description": "OK",
                        **(
                            {"content": {"application/json": {"schema": ref(op.response)}}}
                            if op.response
                            else {}
                        ),
                    },
                    "4XX": {
                        "description": "The request was refused; `error.reason` says why.",
                        "content": {"application/json": {"schema": ref(ErrorOut)}},
                    },
                },
            }
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
                for name in re.findall(r"{(\w+)}", op.path)
            ]
            if op.query:
                for name, field in op.query.model_fields.items():
                    parameters.append(
                        {
                            "name": name,
                            "in": "query",
                            "required": field.is_required(),
                            "description": field.description or "",
                            "schema": op.query.model_json_schema()["properties"][name],
                        }
                    )
            if parameters:
                item["parameters"] = parameters
            if op.body:
                item["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref(op.body)}},
                }
            if op.auth:
                item["security"] = [{"bearer": []}]
            paths.setdefault(self.prefix + op.path, {})[op.method.lower()] = item
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "servers": [{"url": server_url}],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[{}]", "", op.path).strip("/").replace("/", "_")
    return f"{op.method.lower()}_{words}"


class ErrorDetail(BaseModel):
    status: int
    reason: str


class ErrorOut(BaseModel):
    error: ErrorDetail
