"""The OpenAPI 3.1 description of the JSON API, generated from the routes themselves.

Each route of the API carries ``@described(...)`` (its summary, body and answers as the pydantic
models of ``schemas.py``); ``openapi_document(app)`` walks the application's URL map, so a route is in
the document exactly when it is served. A route under /api/ without a description is listed by
``undescribed(app)`` and fails the tests: the document cannot drift from the code by omission.

``GET /api/openapi.json`` serves the document, ``GET /api/docs`` a page rendered from it (no script,
no CDN: the site's stylesheet).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify, render_template
from pydantic import BaseModel, TypeAdapter

from . import schemas
from .cross_site import STATE_CHANGING

F = TypeVar("F", bound=Callable[..., Any])
REF = "#/components/schemas/{model}"
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Flask adds them to every rule
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
PATH_PARAMS = {  # what each path parameter is, unless the route says more
    "photo_id": "a photo's id (POST /api/photos answered it)",
    "person_id": "a person's id (POST /api/people answered it)",
    "cluster": "an unknown person's id: a group of similar unknown faces (GET /api/faces/unknown)",
}
CROSS_SITE = ("a browser request sent from another site's page (Sec-Fetch-Site: cross-site, or an Origin "
              "not this site's)")
LOCATION = {"Location": {"description": "the resource's API URL", "schema": {"type": "string"}}}

# An answer: a model, a (model, description) pair, or {media type: model or JSON schema} for several.
Answer = Any


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, Answer]
    description: str = ""
    body: Any = None  # a model or type (application/json)
    form: type[BaseModel] | None = None  # multipart/form-data
    query: type[BaseModel] | None = None
    params: dict[str, tuple[str, dict[str, Any]] | str] = field(default_factory=dict)  # path parameters
    admin: bool = False
    limited: bool = False  # guards.py's limits apply: 429
    headers: dict[int, dict[str, Any]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


def described(summary: str, *, responses: dict[int, Answer], description: str = "", body: Any = None,
              form: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              params: dict[str, tuple[str, dict[str, Any]] | str] | None = None, admin: bool = False,
              limited: bool = False, headers: dict[int, dict[str, Any]] | None = None,
              tags: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Describe a route for the OpenAPI document (place it under the route decorator)."""
    operation = Operation(summary, responses, description, body, form, query, params or {}, admin, limited,
                          headers or {}, tags)

    def mark(view: F) -> F:
        view.__openapi__ = operation  # type: ignore[attr-defined]
        return view

    return mark


def _api_rules(app: Flask) -> Iterator[Any]:
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint.startswith("api."):
            yield rule


def undescribed(app: Flask) -> list[str]:
    """The API's rules that carry no ``@described``: each one is a gap in the document."""
    return sorted(f"{sorted(r.methods - IGNORED_METHODS)} {r.rule}" for r in _api_rules(app)
                  if _operation(app, r.endpoint) is None)


def _operation(app: Flask, endpoint: str) -> Operation | None:
    return getattr(app.view_functions.get(endpoint), "__openapi__", None)


class _Components:
    """The schemas of every model met, under components/schemas, each by its name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def schema(self, thing: Any) -> dict[str, Any]:
        if isinstance(thing, dict):
            return thing
        if isinstance(thing, type) and issubclass(thing, BaseModel):
            generated = thing.model_json_schema(ref_template=REF)
            name = thing.__name__
        else:
            generated = TypeAdapter(thing).json_schema(ref_template=REF)
            name = None
        for key, sub in generated.pop("$defs", {}).items():
            self.schemas.setdefault(key, sub)
        if name is None:
            return generated
        self.schemas.setdefault(name, generated)
        return {"$ref": REF.format(model=name)}


def _answer(status: int, answer: Answer, components: _Components, headers: dict[str, Any]) -> dict[str, Any]:
    description = HTTPStatus(status).phrase
    if isinstance(answer, tuple):
        answer, description = answer
    out: dict[str, Any] = {"description": description}
    if answer is not None:
        media = answer if isinstance(answer, dict) and "$ref" not in answer and "type" not in answer else \
            {"application/json": answer}
        out["content"] = {kind: {"schema": components.schema(model)} for kind, model in media.items()}
    if headers:
        out["headers"] = headers
    return out


def _with_cross_site(answer: Answer) -> Answer:
    """A route's own 403 (if it has one) plus the cross-site refusal, as one answer."""
    if answer is None:
        return schemas.Error, CROSS_SITE
    model, description = answer if isinstance(answer, tuple) else (answer, HTTPStatus.FORBIDDEN.phrase)
    return model, f"{description}; or {CROSS_SITE}"


def _path(rule: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def param(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "{" + match.group(1) + "}"

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", param, rule), names


def _query(model: type[BaseModel]) -> list[dict[str, Any]]:
    generated = model.model_json_schema(ref_template=REF)
    out = []
    for name, schema in generated.get("properties", {}).items():
        schema = {k: v for k, v in schema.items() if k not in ("title", "default") or (k == "default" and v)}
        description = schema.pop("description", "")
        out.append({"name": name, "in": "query", "required": name in generated.get("required", []),
                    "description": description, "schema": schema})
    return out


def _form(model: type[BaseModel], components: _Components) -> dict[str, Any]:
    ref = components.schema(model)
    binary = [n for n, s in model.model_json_schema()["properties"].items()
              if s.get("format") == "binary" or s.get("items", {}).get("format") == "binary"]
    return {"multipart/form-data": {"schema": ref,
                                    "encoding": {n: {"contentType": "application/octet-stream"} for n in binary}}}


def openapi_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described route of ``app`` under /api/ (and /healthz)."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(_api_rules(app), key=lambda r: r.rule):
        operation = _operation(app, rule.endpoint)
        if operation is None:
            continue
        path, names = _path(rule.rule)
        for method in sorted(rule.methods - IGNORED_METHODS):
            paths.setdefault(path, {})[method.lower()] = _describe(rule.endpoint, method, operation, names,
                                                                   components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "photolane upload API",
            "version": "1",
            "description": "Upload photos and follow them; with the admin token, the people, their faces, "
                           "the upload switch, the export and the queues. Refusals answer "
                           '{"error": "..."}. Generated from the code (photolane_upload.openapi).',
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer",
                                          "description": "Authorization: Bearer <PHOTOLANE_ADMIN_TOKEN>"}},
        },
    }


def _describe(endpoint: str, method: str, op: Operation, names: list[str],
              components: _Components) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": endpoint.rsplit(".", 1)[-1], "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if op.tags:
        out["tags"] = list(op.tags)
    parameters = []
    for name in names:
        given = op.params.get(name, PATH_PARAMS.get(name, ""))
        text, schema = given if isinstance(given, tuple) else (given, {"type": "string", "minLength": 1})
        parameters.append({"name": name, "in": "path", "required": True, "description": text, "schema": schema})
    if op.query is not None:
        parameters += _query(op.query)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": components.schema(op.body)}}}
    elif op.form is not None:
        out["requestBody"] = {"required": True, "content": _form(op.form, components)}
    answers = dict(op.responses)
    error = schemas.Error
    if names:
        answers.setdefault(404, (error, "no such resource (or a path that is no route)"))
    if op.admin:
        answers.setdefault(401, (error, "no admin token (Authorization: Bearer <PHOTOLANE_ADMIN_TOKEN>)"))
        out["security"] = [{"admin": []}]
    if method in STATE_CHANGING:  # cross_site.py refuses these on every route
        answers[403] = _with_cross_site(answers.get(403))
    if op.limited:
        answers.setdefault(429, (error, "over a limit (guards.py): says which and when to try again"))
    if op.body is not None or op.form is not None:
        answers.setdefault(413, (error, "the body is larger than the limit"))
    answers.setdefault(503, (error, "the storage (AWS or the stand-in) is out of reach, or the work could not "
                                    "be queued; try again"))
    headers = {503: RETRY_AFTER, 429: RETRY_AFTER, **op.headers}
    out["responses"] = {str(status): _answer(status, answers[status], components, headers.get(status, {}))
                        for status in sorted(answers)}
    return out


# -- serving ---------------------------------------------------------------------------------------
docs = Blueprint("api_docs", __name__)


def document() -> dict[str, Any]:
    """This application's document, built once."""
    cached = current_app.extensions.get("photolane.openapi")
    if cached is None:
        cached = current_app.extensions["photolane.openapi"] = openapi_document(current_app)
    return cached


@docs.get("/api/openapi.json")
@described("This description (OpenAPI 3.1)", tags=("docs",),
           responses={200: {"application/json": {"type": "object", "description": "an OpenAPI 3.1 document"}}})
def openapi_json() -> Any:
    return jsonify(document()), 200, {"Cache-Control": "public, max-age=300"}


@docs.get("/api/docs")
@described("This description as a page", tags=("docs",),
           responses={200: {"text/html": {"type": "string"}}})
def docs_page() -> Any:
    doc = document()
    return render_template("api_docs.html", doc=doc, operations=list(page_operations(doc)),
                           models=[(name, fields(doc, schema)) for name, schema in
                                   doc["components"]["schemas"].items()])


# -- the page's view of the document -------------------------------------------------------------------
Part = tuple[str, str | None]  # text, and the anchor of a schema it names


def type_parts(schema: dict[str, Any]) -> list[Part]:
    """A schema's type as words and links: ``array of`` [PersonView], ``string or null``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [(name, f"schema-{name}")]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts: list[Part] = []
            for n, sub in enumerate(schema[key]):
                parts += ([(" or ", None)] if n else []) + type_parts(sub)
            return parts
    if "const" in schema:
        return [(repr(schema["const"]).replace("True", "true"), None)]
    if "enum" in schema:
        return [(" | ".join(f'"{v}"' for v in schema["enum"]), None)]
    kind = schema.get("type", "any")
    if kind == "array":
        return [("array of ", None), *type_parts(schema.get("items", {}))]
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict) and "properties" not in schema:
        return [("object of ", None), *type_parts(schema["additionalProperties"])]
    if kind == "string" and schema.get("format") == "binary":
        return [("file", None)]
    text = " or ".join(kind) if isinstance(kind, list) else kind
    limits = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "minLength", "minItems", "maxItems")
              if k in schema]
    return [(text + (f" ({', '.join(limits)})" if limits else ""), None)]


def fields(doc: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a schema's field table (an object's properties)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"].get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [{"name": name, "type": type_parts(sub), "required": name in required,
             "description": sub.get("description", "")}
            for name, sub in schema.get("properties", {}).items()]


def page_operations(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {})
            yield {
                "path": path, "method": method.upper(), "id": op["operationId"], "summary": op["summary"],
                "description": op.get("description", ""), "admin": "security" in op,
                "parameters": [{**p, "type": type_parts(p["schema"])} for p in op.get("parameters", [])],
                "body": [{"media": kind, "type": type_parts(media["schema"]), "fields": fields(doc, media["schema"])}
                         for kind, media in body.items()],
                "responses": [
                    {"status": status, "description": answer["description"],
                     "content": [{"media": kind, "type": type_parts(media["schema"])}
                                 for kind, media in answer.get("content", {}).items()]}
                    for status, answer in op["responses"].items()
                ],
            }
