"""``photolane inbox``: what it prints of the upload service's /dev/inbox (the service faked)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from photolane.cli import main
from photolane.client import Api, ApiError

LINK = "http://127.0.0.1:5000/signin/open#eyJ.abc"


def _at(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def _answer() -> dict[str, Any]:
    """Made when a test runs: the times are relative to now, and collection may be long before."""
    return {"total": 3, "shown": 3, "messages": [
        {"channel": "email", "to": ["carol@example.com"], "from": "photolane@example.com",
         "subject": "Your photolane sign-in link", "sent_at": _at(0), "signin": True, "expires_at": _at(30),
         "text": f"Hello,\n\nOpen your gallery: {LINK}\n\n— photolane",
         "links": [{"text": "Open your gallery", "url": LINK}]},
        {"channel": "sms", "to": ["+14155552671"], "from": None, "subject": None, "sent_at": None, "signin": False,
         "expires_at": None, "text": "photolane: ready \x1b[31mhttp://127.0.0.1:5000/photos/1", "links": []},
        {"channel": "email", "to": ["old@example.com"], "from": "p", "subject": "Your photolane sign-in link",
         "sent_at": _at(-60), "signin": True, "expires_at": _at(-30), "text": "old", "links": []},
    ]}


def _run(monkeypatch: pytest.MonkeyPatch, answer: Any, *args: str) -> Any:
    def inbox(self: Api) -> dict[str, Any]:
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(Api, "inbox", inbox)
    return CliRunner().invoke(main, ["--url", "http://127.0.0.1:5000", "inbox", *args])


def test_the_messages_are_printed_newest_first_with_the_signin_link_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    done = _run(monkeypatch, _answer())
    assert done.exit_code == 0, done.output
    assert "email to carol@example.com  (sign-in link, works once, until " in done.output
    assert f"  Open your gallery: {LINK}\n" in done.output and "  Subject: Your photolane sign-in link" in done.output
    assert "time not recorded  sms to +14155552671" in done.output
    assert "\x1b" not in done.output and "?[31m" in done.output  # a terminal escape is never printed as is
    assert "(sign-in link, expired " in done.output
    assert done.output.index("carol@") < done.output.index("+14155552671") < done.output.index("old@")


def test_signin_and_limit_choose_and_json_is_the_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    only = _run(monkeypatch, _answer(), "--signin", "-n", "1")
    assert only.exit_code == 0 and "carol@example.com" in only.output and "old@" not in only.output
    assert "+1415" not in only.output
    as_json = json.loads(_run(monkeypatch, _answer(), "--json").output)
    assert [m["to"] for m in as_json["messages"]] == [["carol@example.com"], ["+14155552671"], ["old@example.com"]]
    empty = _run(monkeypatch, {"messages": [], "total": 0, "shown": 0})
    assert empty.exit_code == 0 and "nothing sent yet" in empty.output


def test_outside_local_mode_it_says_the_inbox_exists_only_there(monkeypatch: pytest.MonkeyPatch) -> None:
    done = _run(monkeypatch, ApiError("not found", 404))
    assert done.exit_code == 1
    assert "has no inbox: it exists only in local mode (make run" in done.output
    away = _run(monkeypatch, ApiError("cannot reach the upload service at http://127.0.0.1:5000"))
    assert away.exit_code == 1 and "cannot reach" in away.output
