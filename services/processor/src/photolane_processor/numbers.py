"""Number statistics (the oldest flow of the system): pure, no AWS, every input checked."""

from __future__ import annotations

import math
import re
import sys
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
    values, bad, huge = [], [], []
    for item in raw:
        value = _number(item)
        if value is None:
            (huge if _out_of_range(item) else bad).append(item)
        else:
            values.append(value)
    if bad or huge:
        reasons = [f"not a finite number: {_listed(bad)}"] if bad else []
        reasons += [f"beyond the largest number the statistics are computed with (±{sys.float_info.max:.1e}): "
                    f"{_listed(huge)}"] if huge else []
        raise BadNumbers("; ".join(reasons))
    return values


def _listed(items: list[Any]) -> str:
    shown = ", ".join(_shown(item) for item in items[:5])
    return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def _shown(item: Any) -> str:
    """An item as the client sent it, shortened whole (never cut mid-number without saying so)."""
    text = str(item) if isinstance(item, int | float) and not isinstance(item, bool) else repr(item)
    if len(text) <= 40:
        return text
    digits = sum(ch.isdigit() for ch in text)
    if digits > len(text) // 2:
        return f"{text[:12]}…{text[-6:]} ({digits} digits)"
    return f"{text[:30]}… ({len(text)} characters)"


def _out_of_range(item: Any) -> bool:
    """A well-written number too large for a float (a 401-digit integer, 1e999): finite, but not computable."""
    if isinstance(item, bool):
        return False
    if isinstance(item, int):
        return True  # _number refused it: an int is refused only when it overflows
    return isinstance(item, str) and bool(_DECIMAL.fullmatch(item.strip()))


def _number(item: Any) -> float | None:
    if isinstance(item, bool):  # JSON true is not 1
        return None
    try:
        if isinstance(item, int | float):
            value = float(item)
        elif isinstance(item, str) and _DECIMAL.fullmatch(item.strip()):
            value = float(item)
        else:
            return None
    except OverflowError:  # an integer with more than 308 digits
        return None
    return value if math.isfinite(value) else None
