"""The embedded launcher's settings and refusal of busy ports."""

import socket
from pathlib import Path

import pytest

from photolane.local import Embedded, LocalConfig, banner


def test_port_and_admin_token_are_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHOTOLANE_PORT", "5123")
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", "s3cret")
    monkeypatch.setenv("PHOTOLANE_RUN_DIR", str(tmp_path))
    cfg = LocalConfig.from_env()
    assert (cfg.url, cfg.admin_token, cfg.token_generated) == ("http://127.0.0.1:5123", "s3cret", False)
    assert "s3cret (from PHOTOLANE_ADMIN_TOKEN)" in banner(cfg)


def test_admin_token_is_generated_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOLANE_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("PHOTOLANE_PORT", raising=False)
    first, second = LocalConfig.from_env(), LocalConfig.from_env()
    assert first.port == 5000 and first.aws_port == 4566
    assert first.token_generated and len(first.admin_token) >= 24 and first.admin_token != second.admin_token
    assert "generated" in banner(first)


def test_a_busy_port_is_refused_with_the_setting_to_change(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("PHOTOLANE_PORT", str(busy.getsockname()[1]))
        monkeypatch.setenv("PHOTOLANE_RUN_DIR", str(tmp_path))
        with pytest.raises(SystemExit, match="is in use; set PHOTOLANE_PORT"):
            Embedded(LocalConfig.from_env()).start()


def test_session_key_is_generated_once_for_every_worker_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOLANE_SESSION_KEY", raising=False)
    cfg = LocalConfig.from_env()
    assert cfg.session_key_generated and len(cfg.session_key) >= 32
    assert Embedded(cfg)._service_env()["PHOTOLANE_SESSION_KEY"] == cfg.session_key
    assert cfg.session_key not in banner(cfg) and "session key:  generated" in banner(cfg)
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", "chosen")
    assert (LocalConfig.from_env().session_key, LocalConfig.from_env().session_key_generated) == ("chosen", False)
