"""JSON request bodies within bounds: a body too large is a 400 before it is read; one nested too deep
is not JSON to the routes (``request.get_json(silent=True)`` gives None, and each route answers 400
with its sentence), never a RecursionError and a 500."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider

MAX_JSON_BYTES = 64 * 1024  # the largest body a route takes is a person's attributes
MAX_DEPTH = 16  # objects and lists within each other


def bound_json(app: Flask) -> None:
    """The app parses JSON within depth, and refuses JSON request bodies over the size."""
    app.json = BoundedJSONProvider(app)

    @app.before_request
    def _refuse_large_json() -> Any:
        if request.is_json and (request.content_length or 0) > MAX_JSON_BYTES:
            return jsonify(error=f"A JSON body is at most {MAX_JSON_BYTES // 1024} KB."), 400
        return None


class BoundedJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("the JSON body is nested too deeply") from exc
        if _depth(value) > MAX_DEPTH:
            raise ValueError(f"the JSON body is nested more than {MAX_DEPTH} deep")
        return value


def _depth(value: Any) -> int:
    """How deep lists and objects nest in a parsed value (without recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            todo += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return deepest
