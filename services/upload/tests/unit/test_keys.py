"""The session key: given, or created once in a key file and then shared; never a fixed default."""

from pathlib import Path

import pytest

from photolane_upload.keys import SessionKeyMissing, with_session_key
from photolane_upload.settings import UploadSettings


def test_a_key_file_is_created_once_then_read_by_every_starter(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "session-key"
    first = with_session_key(UploadSettings(session_key_file=path))
    second = with_session_key(UploadSettings(session_key_file=path))
    assert first.session_key.get_secret_value() == second.session_key.get_secret_value() == path.read_text()
    assert len(path.read_text()) >= 32 and path.stat().st_mode & 0o777 == 0o600


def test_a_given_key_wins_and_empty_values_mean_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = with_session_key(UploadSettings(session_key="given", session_key_file=tmp_path / "k"))
    assert given.session_key.get_secret_value() == "given" and not (tmp_path / "k").exists()
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", "")
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", " ")  # compose's ${VAR:-}: never an empty admin token
    settings = UploadSettings()
    assert settings.session_key is None and settings.admin_token is None


def test_without_a_key_the_app_refuses_to_start_and_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    from photolane_upload.app import create_app

    monkeypatch.delenv("PHOTOLANE_SESSION_KEY", raising=False)
    monkeypatch.delenv("PHOTOLANE_SESSION_KEY_FILE", raising=False)
    with pytest.raises(SessionKeyMissing, match="PHOTOLANE_SESSION_KEY"):
        create_app(UploadSettings(), deps=object())  # type: ignore[arg-type]
