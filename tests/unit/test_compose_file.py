"""docker-compose.yml parses as Compose parses it: a key given twice in one mapping is an error there
(`docker compose up` refuses the file), while a plain YAML load would silently keep the last one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


class _Strict(yaml.SafeLoader):
    """A YAML loader that refuses a key repeated in one mapping, naming it and its line."""


def _mapping(loader: _Strict, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *aws`: what it merges may be overridden
            continue
        key = key_node.value
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"{key!r} given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def test_no_key_is_given_twice_in_the_compose_file() -> None:
    assert yaml.load(COMPOSE.read_text(), Loader=_Strict)["services"]


def test_the_check_refuses_a_repeated_key() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        yaml.load("a:\n  b: 1\n  b: 2\n", Loader=_Strict)
