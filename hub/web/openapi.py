"""A route registry that checks auth, writes each route's model and documents it in OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar, overload

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hub.domain.errors import Forbidden, NotFound
from hub.domain.model import Role
from hub.web.auth import authenticate
from hub.web.keys import AGENT_KEY

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Body = TypeVar("Body", bound=BaseModel)
#: a handler answers with the very model its route declares; the registry writes it
ModelHandler = Callable[[web.Request], Awaitable[Body]]
NoContentHandler = Callable[[web.Request], Awaitable[None]]
#: a handler that answers a file (a CSV export) it builds itself
FileHandler = Callable[[web.Request], Awaitable[web.Response]]

_REF = "#/components/schemas/{model}"
#: digits enough for any 64-bit id; int() of a longer string is refused past 4,300 digits
_ID_DIGITS = 20
#: each model's ``$ref`` into the components, by model and mode
Refs = dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]]


class ErrorDetail(BaseModel):
    status: int
    reason: str


class ErrorOut(BaseModel):
    error: ErrorDetail


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
    #: a multipart body with one file, in the field of this name
    upload: str | None = None
    #: the type of the file the route answers instead of a model's JSON
    media_type: str | None = None


def model_response(model: BaseModel, status: int = 200) -> web.Response:
    """The one place a response model becomes JSON."""
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json"
    )


class Api:
    def __init__(self, prefix: str, title: str, version: str, *, path_id: Any = int) -> None:
        """``path_id`` is the integer type of every ``{name}`` in a path (with its range): the
        document says so, and a request whose path holds anything else is answered 404 before
        its handler runs."""
        self.prefix = prefix
        self.title = title
        self.version = version
        self._path_id: TypeAdapter[int] = TypeAdapter(path_id)
        self.path_schema: dict[str, Any] = self._path_id.json_schema()
        self.operations: list[Operation] = []

    def path_int(self, request: web.Request, name: str) -> int:
        """The ``{name}`` of the request's path as the path id type; otherwise 404."""
        raw = request.match_info[name]
        # Digits only: int() also takes "1_0", " 1" and the digits of other scripts.
        if not (raw.isascii() and raw.isdigit()) or len(raw) > _ID_DIGITS:
            raise NotFound(f"no {name} {raw[:40]!r}")
        try:
            return self._path_id.validate_python(int(raw))
        except ValidationError:
            raise NotFound(f"no {name} {raw[:40]!r}") from None

    @overload
    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        response: type[Body],
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        upload: str | None = None,
        status: int = 200,
        auth: bool = True,
        admin: bool = False,
    ) -> Callable[[ModelHandler[Body]], ModelHandler[Body]]: ...

    @overload
    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        response: None = None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        upload: str | None = None,
        status: int = 204,
        auth: bool = True,
        admin: bool = False,
    ) -> Callable[[NoContentHandler], NoContentHandler]: ...

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        response: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        upload: str | None = None,
        status: int | None = None,
        auth: bool = True,
        admin: bool = False,
    ) -> Callable[[Any], Any]:
        """``upload`` names the multipart field of a route that takes a file instead of a
        ``body``."""
        code = status or (200 if response else 204)
        if (response is None) != (code == 204):
            raise ValueError(f"{method} {path}: a route answers 204 exactly when it has no body")
        if body is not None and upload is not None:
            raise ValueError(f"{method} {path}: a route takes a JSON body or an upload, not both")

        names = re.findall(r"{(\w+)}", path)

        def register(handler: Callable[[web.Request], Awaitable[BaseModel | None]]) -> Any:
            async def serve(request: web.Request) -> web.StreamResponse:
                await self._admit(request, names, auth=auth, admin=admin)
                out = await handler(request)
                if out is None and response is None:
                    return web.Response(status=code)
                # The type checker holds handlers to their model; this catches what slips by it.
                if out is not None and type(out) is response:
                    return model_response(out, code)
                raise TypeError(f"{method} {path} answered {type(out).__name__}")

            self.operations.append(
                Operation(
                    method,
                    path,
                    serve,
                    summary,
                    tag,
                    body,
                    response,
                    query,
                    code,
                    auth,
                    admin,
                    upload,
                )
            )
            return handler

        return register

    def file_route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        media_type: str,
        query: type[BaseModel] | None = None,
        admin: bool = False,
    ) -> Callable[[FileHandler], FileHandler]:
        """A route whose answer is a file of ``media_type`` (a CSV export, say) that its
        handler builds, documented as a string of that type."""
        names = re.findall(r"{(\w+)}", path)

        def register(handler: FileHandler) -> FileHandler:
            async def serve(request: web.Request) -> web.StreamResponse:
                await self._admit(request, names, auth=True, admin=admin)
                out = await handler(request)
                if out.status == 200 and out.content_type == media_type:
                    return out
                raise TypeError(f"{method} {path} answered {out.content_type} ({out.status})")

            self.operations.append(
                Operation(
                    method,
                    path,
                    serve,
                    summary,
                    tag,
                    None,
                    None,
                    query,
                    200,
                    True,
                    admin,
                    media_type=media_type,
                )
            )
            return handler

        return register

    async def _admit(
        self, request: web.Request, names: list[str], *, auth: bool, admin: bool
    ) -> None:
        """The caller's token and role, and the path's ids, before any handler runs."""
        if auth:
            agent = await authenticate(request)
            if admin and agent.role != Role.ADMIN:
                raise Forbidden("only an admin may do this")
            request[AGENT_KEY] = agent
        for name in names:
            self.path_int(request, name)

    def add_to(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, self.prefix + op.path, op.handler)

    def document(self, server_url: str) -> dict[str, Any]:
        """The OpenAPI document; ``server_url`` is the hub's public URL, the paths hold the
        prefix."""
        refs, schemas = self._schemas()
        paths: dict[str, dict[str, Any]] = {}
        queries: set[str] = set()
        for op in self.operations:
            item: dict[str, Any] = {
                "summary": op.summary,
                "tags": [op.tag],
                "operationId": _operation_id(op),
                "responses": _responses(op, refs),
            }
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": self.path_schema}
                for name in re.findall(r"{(\w+)}", op.path)
            ]
            if op.query:
                name = _name(refs[op.query, "validation"])
                queries.add(name)
                parameters += _query_parameters(schemas[name])
            if parameters:
                item["parameters"] = parameters
            if op.body:
                item["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": refs[op.body, "validation"]}},
                }
            if op.upload:
                item["requestBody"] = {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": _upload_schema(op.upload)}},
                }
            if op.auth:
                item["security"] = [{"bearer": []}]
            paths.setdefault(self.prefix + op.path, {})[op.method.lower()] = item
        # A query's model became its parameters; as a schema of its own nothing refers to it.
        for name in queries:
            rest = {key: value for key, value in schemas.items() if key != name}
            if _REF.format(model=name) not in json.dumps([paths, rest]):
                del schemas[name]
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

    def _schemas(self) -> tuple[Refs, dict[str, Any]]:
        """Every model's schema at once, so that models sharing a name cannot overwrite each
        other and every nested model (an enum in a query, too) lands in the components."""
        wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
            (ErrorOut, "serialization"): None
        }
        for op in self.operations:
            if op.response:
                wanted[op.response, "serialization"] = None
            for model in (op.body, op.query):
                if model:
                    wanted[model, "validation"] = None
        refs, top = models_json_schema(list(wanted), ref_template=_REF)
        return {key: refs[key] for key in wanted}, dict(top.get("$defs", {}))


def _name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            **({"description": prop["description"]} if "description" in prop else {}),
            "schema": _present(prop),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _present(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without its ``null``: a query string is never null, the
    parameter is only left out."""
    options = prop.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return prop
    kept = [option for option in options if option != {"type": "null"}]
    rest = {k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {"anyOf": kept, **rest}


def _upload_schema(field: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {field: {"type": "string", "format": "binary"}},
        "required": [field],
    }


def _responses(op: Operation, refs: Refs) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    if op.media_type:
        success["content"] = {op.media_type: {"schema": {"type": "string"}}}
    if op.response:
        success["content"] = {"application/json": {"schema": refs[op.response, "serialization"]}}
    error = {"application/json": {"schema": refs[ErrorOut, "serialization"]}}
    return {
        str(op.status): success,
        "4XX": {
            "description": "The request was refused; `error.reason` says why.",
            "content": error,
        },
        "5XX": {
            "description": "The hub cannot answer now (its database connection was reset, or a "
            "provider it must ask is unreachable); try again.",
            "content": error,
        },
    }


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[{}]", "", op.path).strip("/").replace("/", "_")
    return f"{op.method.lower()}_{words}"
