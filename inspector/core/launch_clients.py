"""The clients Inspector can launch already pointed at itself, and where
each is looked for on each system.

A client is a kind (``chromium``, ``firefox`` or ``terminal``: what its
setup looks like) and a name (what its flows are tagged with, and what
``inspector launch`` takes). Finding one is a function of the platform,
the environment and two look-ups passed in (``shutil.which``, a file
test), so the tables below are tested for every system on any system.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Which = Callable[[str], str | None]
Exists = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Client:
    name: str
    """The tag of its flows and the command line's word for it."""
    label: str
    kind: str
    """``chromium``, ``firefox`` or ``terminal``."""
    commands: tuple[str, ...] = ()
    """Names looked up on PATH (Linux and the BSDs; Windows adds ``.exe``)."""
    mac_apps: tuple[str, ...] = ()
    """``Name.app/Contents/MacOS/Binary`` under /Applications or ~/Applications."""
    windows_paths: tuple[str, ...] = ()
    """Under Program Files, Program Files (x86) or the user's local app data."""


CHROMIUM = Client(
    "chromium",
    "Chromium",
    "chromium",
    ("chromium", "chromium-browser"),
    ("Chromium.app/Contents/MacOS/Chromium",),
    (r"Chromium\Application\chrome.exe",),
)
CHROME = Client(
    "chrome",
    "Google Chrome",
    "chromium",
    ("google-chrome", "google-chrome-stable"),
    ("Google Chrome.app/Contents/MacOS/Google Chrome",),
    (r"Google\Chrome\Application\chrome.exe",),
)
EDGE = Client(
    "edge",
    "Microsoft Edge",
    "chromium",
    ("microsoft-edge", "microsoft-edge-stable"),
    ("Microsoft Edge.app/Contents/MacOS/Microsoft Edge",),
    (r"Microsoft\Edge\Application\msedge.exe",),
)
BRAVE = Client(
    "brave",
    "Brave",
    "chromium",
    ("brave-browser", "brave"),
    ("Brave Browser.app/Contents/MacOS/Brave Browser",),
    (r"BraveSoftware\Brave-Browser\Application\brave.exe",),
)
FIREFOX = Client(
    "firefox",
    "Firefox",
    "firefox",
    ("firefox", "firefox-esr"),
    ("Firefox.app/Contents/MacOS/firefox",),
    (r"Mozilla Firefox\firefox.exe",),
)
TERMINAL = Client(
    "terminal",
    "Terminal",
    "terminal",
    (
        "x-terminal-emulator",
        "gnome-terminal",
        "konsole",
        "xfce4-terminal",
        "kitty",
        "alacritty",
        "xterm",
    ),
    ("Terminal",),
    ("powershell.exe",),
)
BROWSERS = (CHROMIUM, CHROME, EDGE, BRAVE, FIREFOX)
CLIENTS = (*BROWSERS, TERMINAL)
BY_NAME = {client.name: client for client in CLIENTS}


def looked_for(client: Client, platform: str) -> str:
    """What finding ``client`` tries, for a message saying none was found."""
    if platform == "darwin":
        if client.kind == "terminal":
            return "Terminal.app"
        return ", ".join(f"/Applications/{app.split('/')[0]}" for app in client.mac_apps)
    if platform == "win32":
        if client.kind == "terminal":
            return "powershell.exe"
        return ", ".join(client.windows_paths) + " under Program Files and local app data"
    return ", ".join(client.commands) + " on PATH"


def find(
    client: Client,
    platform: str,
    which: Which,
    exists: Exists,
    env: Mapping[str, str],
) -> str | None:
    """The executable that starts ``client`` here, or None."""
    if platform == "darwin":
        if client.kind == "terminal":
            return "/usr/bin/open"  # Terminal.app is part of macOS
        home = env.get("HOME", "")
        for app in client.mac_apps:
            for root in ("/Applications", f"{home}/Applications"):
                path = f"{root}/{app}"
                if exists(path):
                    return path
        return None
    if platform == "win32":
        if client.kind == "terminal":
            return which("powershell.exe")
        roots = [
            env.get(name, "") for name in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")
        ]
        for relative in client.windows_paths:
            for root in roots:
                path = f"{root}\\{relative}"
                if root and exists(path):
                    return path
        return None
    for command in client.commands:
        found = which(command)
        if found is not None:
            return found
    return None


def terminal_command(executable: str, program: list[str]) -> list[str]:
    """The command line that opens a terminal window running ``program``
    (Linux and the BSDs): each emulator has its own way of saying it."""
    base = os.path.basename(executable)
    if base == "gnome-terminal":
        return [executable, "--", *program]
    if base == "xfce4-terminal":
        return [executable, "-x", *program]
    if base == "kitty":
        return [executable, *program]
    # x-terminal-emulator (Debian's alternative promises -e), konsole,
    # alacritty, xterm.
    return [executable, "-e", *program]
