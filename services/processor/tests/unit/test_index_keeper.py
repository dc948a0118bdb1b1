"""The index keeper's tick: an outage of AWS is waited out (a warning), anything else is raised."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import GetError

from photolane_processor.reconcile import IndexKeeper


class FakeMirror:
    def __init__(self, name: str, error: Exception | None = None) -> None:
        self.name, self.error, self.refreshed, self.snapshots = name, error, 0, 0

    def refresh(self) -> int:
        if self.error is not None:
            raise self.error
        self.refreshed += 1
        return 0

    def maybe_snapshot(self) -> bool:
        self.snapshots += 1
        return False


def _keeper(known: FakeMirror, unknown: FakeMirror, clock: list[float]) -> IndexKeeper:
    indexes = SimpleNamespace(mirrors=lambda recent=None: [known, unknown])
    deps = SimpleNamespace(settings=SimpleNamespace(index_refresh_seconds=2.0), indexes=indexes)
    return IndexKeeper(deps, clock=lambda: clock[0])  # type: ignore[arg-type]


def test_both_indexes_are_refreshed_once_an_interval() -> None:
    clock = [100.0]
    known, unknown = FakeMirror("people"), FakeMirror("unknown")
    keeper = _keeper(known, unknown, clock)
    keeper.tick()
    keeper.tick()  # within the interval: nothing
    clock[0] += 2.5
    keeper.tick()
    assert (known.refreshed, unknown.refreshed, known.snapshots) == (2, 2, 2)


def test_aws_away_is_a_warning_and_the_next_tick_tries_again(caplog: pytest.LogCaptureFixture) -> None:
    clock = [100.0]
    away = GetError("Failed to get item", cause=EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"))
    known = FakeMirror("people", away)
    keeper = _keeper(known, FakeMirror("unknown"), clock)
    keeper.tick()  # no exception: the worker would log it as an error
    assert any(r.message == "index.refresh_waiting" and r.levelname == "WARNING" for r in caplog.records)
    known.error = None
    clock[0] += 2.5
    keeper.tick()
    assert known.refreshed == 1


def test_a_restarting_stand_in_without_its_tables_yet_is_waited_out(caplog: pytest.LogCaptureFixture) -> None:
    missing = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"}},
                          "GetItem")
    keeper = _keeper(FakeMirror("people", GetError("Failed to get item", cause=missing)), FakeMirror("unknown"), [0.0])
    keeper.tick()
    assert any(r.message == "index.refresh_waiting" for r in caplog.records)


def test_a_bug_is_not_taken_for_an_outage() -> None:
    keeper = _keeper(FakeMirror("people", ValueError("a bug")), FakeMirror("unknown"), [0.0])
    with pytest.raises(ValueError):
        keeper.tick()
