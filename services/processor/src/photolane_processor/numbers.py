"""Number statistics (the oldest flow of the system): pure, no AWS, every input checked."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

MAX_NUMBERS = 10_000
# Plain decimal notation only: no "nan", "inf", hex or digit separators from a typo.
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")


class BadNumbers(ValueError):
    """The request's numbers cannot be summarized; the message says why, for the client."""


@dataclass(frozen=True)
class Summary:
    count: int
    min: float
    max: float
    mean: float
    median: float


def summarize(raw: Any) -> Summary:
    """Min, max, mean and median of a list of numbers (or of strings that are numbers)."""
    values = parse_numbers(raw)
    try:
        mean = math.fsum(values) / len(values)
    except OverflowError:  # partial sums past the float range: divide first, a rounding off
        mean = math.fsum(v / len(values) for v in values)
    return Summary(len(values), min(values), max(values), mean, _median(values))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ordered[middle - 1] / 2 + ordered[middle] / 2  # halves first: never overflows


def parse_numbers(raw: Any) -> list[float]:
    if not isinstance(raw, list):
        raise BadNumbers("send the numbers as a list")
    if not raw:
        raise BadNumbers("send at least one number")
    if len(raw) > MAX_NUMBERS:
        raise BadNumbers(f"send at most {MAX_NUMBERS} numbers ({len(raw)} sent)")
    values, bad = [], []
    for item in raw:
        value = _number(item)
        if value is None:
            bad.append(item)
        else:
            values.append(value)
    if bad:
        shown = ", ".join(repr(item)[:40] for item in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise BadNumbers(f"not a finite number: {shown}{more}")
    return values


def _number(item: Any) -> float | None:
    if isinstance(item, bool):  # JSON true is not 1
        return None
    if isinstance(item, int | float):
        value = float(item)
    elif isinstance(item, str) and _DECIMAL.fullmatch(item.strip()):
        value = float(item)
    else:
        return None
    return value if math.isfinite(value) else None
