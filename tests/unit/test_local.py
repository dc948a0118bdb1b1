"""The embedded launcher's settings and refusal of busy ports."""

import socket
import stat
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


def test_admin_token_is_generated_once_and_kept_owner_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PHOTOLANE_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("PHOTOLANE_PORT", raising=False)
    monkeypatch.setenv("PHOTOLANE_RUN_DIR", str(tmp_path / "run"))
    first, second = LocalConfig.from_env(), LocalConfig.from_env()
    assert first.port == 5000 and first.aws_port == 4566
    assert first.token_generated and len(first.admin_token) >= 24 and first.admin_token == second.admin_token
    kept = tmp_path / "run" / "secrets" / "admin-token"
    assert kept.read_text().strip() == first.admin_token
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert f"generated once, kept in {kept}" in banner(first)
    monkeypatch.setenv("PHOTOLANE_RUN_DIR", str(tmp_path / "other"))
    assert LocalConfig.from_env().admin_token != first.admin_token  # another run folder, another token
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", "chosen")  # the variable still wins
    assert LocalConfig.from_env().admin_token == "chosen"


def test_a_busy_port_is_refused_with_the_setting_to_change(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("PHOTOLANE_PORT", str(busy.getsockname()[1]))
        monkeypatch.setenv("PHOTOLANE_RUN_DIR", str(tmp_path))
        with pytest.raises(SystemExit, match="is in use; set PHOTOLANE_PORT"):
            Embedded(LocalConfig.from_env()).start()


def test_session_key_is_generated_once_for_every_worker_and_never_printed(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    monkeypatch.delenv("PHOTOLANE_SESSION_KEY", raising=False)
    monkeypatch.setenv("PHOTOLANE_RUN_DIR", str(tmp_path))
    cfg = LocalConfig.from_env()
    assert cfg.session_key_generated and len(cfg.session_key) >= 32
    assert Embedded(cfg)._service_env()["PHOTOLANE_SESSION_KEY"] == cfg.session_key
    assert cfg.session_key not in banner(cfg) and "session key:  generated once, kept in" in banner(cfg)
    assert LocalConfig.from_env().session_key == cfg.session_key  # the next run signs alike: sessions hold
    assert stat.S_IMODE((tmp_path / "secrets" / "session-key").stat().st_mode) == 0o600
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", "chosen")
    assert (LocalConfig.from_env().session_key, LocalConfig.from_env().session_key_generated) == ("chosen", False)


def test_the_retention_set_for_make_run_reaches_the_services(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv("PHOTOLANE_RUN_DIR", str(tmp_path))
    monkeypatch.delenv("PHOTOLANE_RETENTION_DAYS", raising=False)
    assert "PHOTOLANE_RETENTION_DAYS" not in Embedded(LocalConfig.from_env())._service_env()  # kept forever
    monkeypatch.setenv("PHOTOLANE_RETENTION_DAYS", "30")
    assert Embedded(LocalConfig.from_env())._service_env()["PHOTOLANE_RETENTION_DAYS"] == "30"


def test_the_launcher_sees_make_told_to_stop_or_gone() -> None:
    from photolane.local import SIGINT_BIT, ParentWatch

    masks = {7: 0x1814203}
    watch = ParentWatch(7, read=masks.get, command=lambda pid: "make")
    assert watch.watched and not watch.gone(parent_now=7)
    masks[7] = 0x1814203 & ~SIGINT_BIT  # make got SIGINT: it reset its handler and waits for us
    assert watch.gone(parent_now=7)
    assert watch.gone(parent_now=1)  # make killed: the launcher was handed to init


def test_under_a_shell_only_a_new_parent_stops_the_launcher() -> None:
    from photolane.local import ParentWatch

    watch = ParentWatch(9, read=lambda pid: 0, command=lambda pid: "bash")  # a shell's handlers come and go
    assert not watch.watched and not watch.gone(parent_now=9) and watch.gone(parent_now=1)
