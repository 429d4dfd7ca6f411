from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.core.config import ConfigError, config_dir, load_settings, save_settings
from inspector.core.settings import Settings


def test_config_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INSPECTOR_HOME", str(tmp_path / "env"))
    assert config_dir(tmp_path / "flag") == tmp_path / "flag"
    assert config_dir() == tmp_path / "env"
    monkeypatch.delenv("INSPECTOR_HOME")
    assert config_dir().name == "inspector"


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings, problems = load_settings(tmp_path)
    assert settings == Settings()
    assert problems == []


def test_round_trip(tmp_path: Path) -> None:
    settings = Settings()
    settings.proxy.listen_port = 9090
    settings.proxy.body_capture_limit = 1234
    settings.proxy.max_flows = 4321
    settings.relay.flush_interval_ms = 50
    save_settings(tmp_path / "sub", settings)
    loaded, problems = load_settings(tmp_path / "sub")
    assert problems == []
    assert loaded.proxy.listen_port == 9090
    assert loaded.proxy.body_capture_limit == 1234
    assert loaded.proxy.max_flows == 4321
    assert loaded.relay.flush_interval_ms == 50


def test_bad_values_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps(
            {
                "proxy": {"listen_port": 70000, "listen_host": 5, "body_capture_limit": 10},
                "relay": {"capacity": True, "flush_interval_ms": -1},
                "unknown": 1,
            }
        )
    )
    settings, problems = load_settings(tmp_path)
    assert settings.proxy.listen_port == 8080
    assert settings.proxy.body_capture_limit == 10
    assert settings.relay.capacity == Settings().relay.capacity
    assert len(problems) == 4
    assert any("port 70000 out of range" in p for p in problems)


def test_invalid_json_is_reported(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{nope")
    settings, problems = load_settings(tmp_path)
    assert settings == Settings()
    assert len(problems) == 1 and "not valid JSON" in problems[0]


def test_unwritable_directory_raises_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot save settings"):
        save_settings(blocker / "dir", Settings())
