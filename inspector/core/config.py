"""Where Inspector keeps its files, and persisting settings there.

The configuration directory is, in order: an explicit ``--confdir``, the
``INSPECTOR_HOME`` environment variable, or the platform's user config
directory (``~/.config/inspector`` on Linux). Settings are a small JSON file
in it. Only the user-facing fields are persisted; a file with unknown keys
or bad values loads what it can and reports the rest, never crashes.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import platformdirs

from inspector.core.rules import RuleError, rule_from_json
from inspector.core.settings import GuiSettings, ProxySettings, RelaySettings, Settings
from inspector.core.upstream_proxy import UpstreamProxyError, check_upstream

APP_NAME = "inspector"
SETTINGS_FILE = "settings.json"

PERSISTED: dict[str, tuple[str, ...]] = {
    "proxy": (
        "listen_host",
        "listen_port",
        "body_capture_limit",
        "body_memory_limit",
        "max_flows",
        "ws_max_messages",
        "ws_max_flow_bytes",
        "ws_memory_limit",
        "record_session",
        "session_max_bytes",
        "session_keep_days",
        "intercept_tls",
        "ignore_hosts",
        "upstream_proxy",
        "upstream_bypass",
    ),
    "relay": ("flush_interval_ms", "capacity"),
    "gui": ("saved_filters", "filter_history", "rules", "system_proxy"),
}


class ConfigError(Exception):
    """The settings file could not be read or written."""


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    env = os.environ.get("INSPECTOR_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def sessions_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where the app records its sessions: ``sessions`` in the directory
    named by ``--confdir`` or ``INSPECTOR_HOME``, else in the user's data
    directory."""
    if override or os.environ.get("INSPECTOR_HOME"):
        return config_dir(override) / "sessions"
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "sessions"


def load_settings(directory: Path) -> tuple[Settings, list[str]]:
    """Settings from ``directory`` (defaults when there is no file), and a
    list of problems found (each one line, for the user)."""
    settings = Settings()
    path = directory / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return settings, []
    except OSError as exc:
        return settings, [f"cannot read {path}: {exc.strerror}"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return settings, [
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); using defaults"
        ]
    if not isinstance(data, dict):
        return settings, [f"{path} does not hold a JSON object; using defaults"]
    problems: list[str] = []
    for section, names in PERSISTED.items():
        target = getattr(settings, section)
        values = data.get(section, {})
        if not isinstance(values, dict):
            problems.append(f"{path}: '{section}' is not an object; ignored")
            continue
        if section == "gui" and "rules" not in values and "breakpoints" in values:
            # Written before every rule was kept: its breakpoints are the rules.
            values = {**values, "rules": values["breakpoints"]}
        for name in names:
            if name in values:
                problem = _assign(target, name, values[name])
                if problem:
                    problems.append(f"{path}: {section}.{name}: {problem}")
    return settings, problems


def save_settings(directory: Path, settings: Settings) -> None:
    """Write atomically (a temporary file renamed over the old one),
    readable by the user alone: it may hold the upstream proxy's password."""
    data = {
        section: {name: getattr(getattr(settings, section), name) for name in names}
        for section, names in PERSISTED.items()
    }
    path = directory / SETTINGS_FILE
    tmp = path.with_suffix(".tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot save settings to {path}: {exc.strerror}") from None


def _assign(
    target: ProxySettings | RelaySettings | GuiSettings, name: str, value: Any
) -> str | None:
    """Set ``target.name`` if ``value`` has the field's type and range;
    return a problem description otherwise."""
    field = next(f for f in dataclasses.fields(target) if f.name == name)
    expected = type(getattr(target, name))
    if name in ("upstream_proxy", "upstream_bypass"):
        return _assign_upstream(target, name, value)
    if expected is list and name == "filter_history":
        return _assign_strings(target, field.name, value)
    if expected is list and name == "rules":
        return _assign_rules(target, field.name, value)
    if expected is list:
        return _assign_pairs(target, field.name, value)
    if expected is bool:
        if not isinstance(value, bool):
            return f"expected true or false, got {value!r}"
        setattr(target, field.name, value)
        return None
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"expected a whole number, got {value!r}"
    if expected is str and not isinstance(value, str):
        return f"expected text, got {value!r}"
    if name == "listen_port" and not 0 <= value <= 65535:
        return f"port {value} out of range"
    if expected is int and name != "listen_port" and value <= 0:
        return f"must be positive, got {value}"
    setattr(target, field.name, value)
    return None


def _assign_upstream(target: object, name: str, value: Any) -> str | None:
    """The upstream proxy (text or null) or its bypass list, checked; a
    problem never quotes the value, which may hold a password."""
    if name == "upstream_proxy" and value is None:
        setattr(target, name, None)
        return None
    if not isinstance(value, str):
        return "expected text"
    try:
        if name == "upstream_proxy":
            check_upstream(value, "")
        else:
            check_upstream(None, value)
    except UpstreamProxyError as exc:
        return str(exc)
    setattr(target, name, value or None if name == "upstream_proxy" else value)
    return None


def _assign_strings(target: object, name: str, value: Any) -> str | None:
    """A list of texts (the filter history)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"expected a list of texts, got {value!r}"
    setattr(target, name, list(value))
    return None


def _assign_rules(target: object, name: str, value: Any) -> str | None:
    """A list of rules in the rules file's form; one that is not is left
    out, and said."""
    if not isinstance(value, list):
        return f"expected a list of rules, got {value!r}"
    kept, problems = [], []
    for number, rule in enumerate(value, 1):
        try:
            rule_from_json(rule, number)
        except RuleError as exc:
            problems.append(f"rule {number} left out: {exc}")
            continue
        kept.append(dict(rule))
    setattr(target, name, kept)
    return "; ".join(problems) or None


def _assign_pairs(target: object, name: str, value: Any) -> str | None:
    """A list of ``[name, text]`` pairs (the saved filters)."""
    if not isinstance(value, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
        for pair in value
    ):
        return f"expected a list of [name, text] pairs, got {value!r}"
    setattr(target, name, [list(pair) for pair in value])
    return None
