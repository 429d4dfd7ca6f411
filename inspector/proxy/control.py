"""The engine's control socket: scripts and ``inspector ctl`` drive it here.

Besides the window's private channel, every engine listens on a Unix
socket of its own (``link.control_socket``: ``inspector-<pid>.sock`` in a
directory only its user can enter, or the path ``--control`` names). The
socket is made mode 0600 and each connecting process's uid is read from
the kernel (``SO_PEERCRED``, ``LOCAL_PEERCRED`` on macOS and the BSDs):
another user's connection is closed at once. A control client speaks the
window's protocol (docs/protocol.md, "Control connections"): the engine
says ``hello`` (without the window's secret), then answers requests,
through ``EngineService.answer`` like the window's, except the ops that
change what the proxy listens on or how it guards itself. It gets no
batches. A client that breaks the protocol loses its own connection.

A socket that cannot be made costs a warning, never the engine. The file
goes when the engine stops, unless another engine has taken the path
over meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspector.core.protocol import Message, ProtocolError, field
from inspector.link.channel import ChannelClosed, FrameChannel, open_channel
from inspector.link.control_socket import (
    ControlDirError,
    answers,
    control_dir,
    ensure_private,
    socket_path,
)
from inspector.proxy.service import EngineService
from inspector.proxy.tasks import TaskSet

log = logging.getLogger(__name__)

DENIED = frozenset({"configure", "shutdown"})
"""Ops a control client may not use: the listening address, remote
access, authentication and interception are the window's (or the command
line's) to set, and the engine's life is its owner's."""
MAX_CLIENTS = 32
"""Control connections open at once; more are turned away."""
_UCRED = struct.Struct("=iII")
"""Linux's ``struct ucred``: pid, uid, gid."""
_XUCRED = struct.Struct("=II")
"""The start of macOS's ``struct xucred``: version, then the uid."""


class ControlUnavailable(Exception):
    """The control socket cannot be made at that path."""


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of the Unix socket
    ``sock``, or None when the system cannot say."""
    if hasattr(socket, "SO_PEERCRED"):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        return int(_UCRED.unpack(creds)[1])
    local_peercred = getattr(socket, "LOCAL_PEERCRED", None)
    if local_peercred is not None:
        # SOL_LOCAL is 0; a struct xucred is 76 bytes.
        creds = sock.getsockopt(0, local_peercred, 76)
        return int(_XUCRED.unpack_from(creds)[1])
    return None


class ControlServer:
    def __init__(
        self,
        service: EngineService,
        path: Path | None = None,
        uid_of: Callable[[socket.socket], int | None] = peer_uid,
    ) -> None:
        """Serves ``service`` at ``path``, or at this process's socket in
        the control directory; ``uid_of`` reads a peer's uid."""
        self.service = service
        self.path = path
        self._uid_of = uid_of
        self._listener: socket.socket | None = None
        self._identity: tuple[int, int] | None = None
        """The socket file made (device, inode): removed only if still ours."""
        self._tasks = TaskSet()
        self._accepting: asyncio.Task[None] | None = None
        self._channels: set[FrameChannel] = set()
        self._accepted: set[socket.socket] = set()
        """Connections accepted and not yet handed to a channel."""

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def start(self) -> Path | None:
        """Listen; returns the socket's path, or None after a warning when
        it cannot be made."""
        try:
            path = self._prepare()
            self._listener = self._bind(path)
        except (OSError, ControlDirError, ControlUnavailable) as exc:
            log.warning("no control socket: %s", exc)
            return None
        self.path = path
        self._accepting = self._tasks.spawn(self._accept(self._listener), name="control accept")
        return path

    async def close(self) -> None:
        """Stop listening, remove the socket file, close every client."""
        # Everything but the wait happens at once: a stop that is itself
        # cancelled (the loop going away) still leaves nothing open.
        listener, self._listener = self._listener, None
        if listener is not None:
            accepting, self._accepting = self._accepting, None
            if accepting is not None:
                accepting.cancel()
            # No longer watched before it closes: a loop watching a closed
            # descriptor complains (Qt's, under qasync, does).
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()
            self._remove()
        for channel in list(self._channels):
            channel.close("the engine is stopping")
        for sock in self._accepted:
            sock.close()
        self._accepted.clear()
        await self._tasks.cancel_all(timeout=1.0)

    # Making the socket

    def _prepare(self) -> Path:
        if self.path is None:
            directory = control_dir()
            ensure_private(directory)
            path = socket_path(os.getpid(), directory)
        else:
            path = self.path
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            return path
        if not stat.S_ISSOCK(mode):
            raise ControlUnavailable(f"{path} exists and is not a socket")
        if answers(path):
            raise ControlUnavailable(f"another engine listens on {path}")
        path.unlink()  # stale: its engine is gone
        return path

    def _bind(self, path: Path) -> socket.socket:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Born owner-only: the umask covers the moment between bind and
            # chmod (the directory already keeps others out).
            old = os.umask(0o177)
            try:
                listener.bind(str(path))
            finally:
                os.umask(old)
            os.chmod(path, 0o600)
            info = path.stat()
            self._identity = (info.st_dev, info.st_ino)
            listener.listen(16)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        return listener

    def _remove(self) -> None:
        path = self.path
        if path is None or self._identity is None:
            return
        with contextlib.suppress(OSError):
            info = path.lstat()
            if (info.st_dev, info.st_ino) == self._identity:
                path.unlink()
        self._identity = None

    # Serving

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError as exc:
                # Out of descriptors, say: try again shortly, never spin.
                log.warning("control socket: cannot accept: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self._accepted.add(sock)
            self._tasks.spawn(self._serve(sock), name="control client")

    async def _serve(self, sock: socket.socket) -> None:
        if sock not in self._accepted:
            return  # closed by close() before its turn came
        self._accepted.discard(sock)
        try:
            uid = self._uid_of(sock)
        except OSError as exc:
            log.warning("control socket: cannot read a client's credentials: %s", exc)
            uid = None
        if uid != os.getuid():
            log.warning("control socket: refused a connection from uid %s", uid)
            sock.close()
            return
        if len(self._channels) >= MAX_CLIENTS:
            log.warning("control socket: refused a client: %d already connected", MAX_CLIENTS)
            sock.close()
            return
        client = ControlClient(self.service)
        channel = await open_channel(sock, client.handle, "control channel")
        client.channel = channel
        self._channels.add(channel)
        try:
            client.send(client.hello())
            await channel.closed
        finally:
            self._channels.discard(channel)


class ControlClient:
    """One control connection: requests in, replies out."""

    def __init__(self, service: EngineService) -> None:
        self.service = service
        self.channel: FrameChannel | None = None

    def hello(self) -> Message:
        """The window's hello, less the secret: a control client proves
        itself by its uid, and the secret is the window's alone."""
        hello = self.service.hello("")
        del hello["secret"]
        return hello

    def handle(self, message: Message) -> None:
        """The channel's ``on_message``: a request, or a protocol error."""
        if message["t"] != "req":
            raise ProtocolError(f"unexpected message {message['t']!r} on a control connection")
        request_id = field(message, "id", int)
        self.service.answer(
            message, lambda result, error: self._reply(request_id, result, error), DENIED
        )

    def _reply(self, request_id: int, result: Any, error: str | None) -> None:
        message: Message = {"t": "reply", "id": request_id, "ok": error is None}
        if error is None:
            message["result"] = result
        else:
            message["error"] = error
        self.send(message)

    def send(self, message: Message) -> None:
        channel = self.channel
        if channel is not None and channel.is_open:
            with contextlib.suppress(ChannelClosed):
                channel.send(message)
