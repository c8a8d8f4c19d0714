"""The control socket: ``pedal status`` and ``pedal ctl`` talk to the daemon over a Unix
stream socket, one JSON request and one JSON reply per connection.

The server is one thread with a selector, so no client can hold up another: every connection
has a deadline to send its request (``request_s``) and to take its reply, at most
``max_clients`` (256) are open at once (more are answered "busy" and closed), and a request is
answered when its handler replies, from whichever thread that is, without blocking the server.
The daemon answers ``status`` at once from the snapshot its control loop keeps, so a status
comes back within milliseconds even while the loop is busy.

The socket file is created with ``control.socket_mode`` (0660 by default: the service's user and
group). Only a stale socket is ever replaced: a regular file, a folder or a link at that path is
refused with one line. With no ``control.socket`` and no ``XDG_RUNTIME_DIR`` the socket lives in
``/tmp/pedal-<uid>``, which must be the user's own folder with mode 0700 (made so when missing;
refused otherwise, by the daemon and by the client).
"""

from __future__ import annotations

import collections
import json
import os
import selectors
import socket
import stat
import threading
import time
from pathlib import Path

from ..errors import PedalError

MAX_REQUEST = 4096
MAX_ARGS = 8
MAX_ARG_CHARS = 256


class ControlError(PedalError, OSError):
    """The daemon cannot be reached, or refused the request."""


def private_dir(path: Path, create: bool = True) -> Path:
    """``path`` as a folder only this user can enter: made with mode 0700 when missing,
    refused (ControlError) when someone else owns it, others can enter it, or it is a link."""
    path = Path(path)
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise ControlError(f"{path}: cannot make the control folder ({exc.strerror})") \
                from None
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ControlError(f"{path}: no pedal daemon (the folder does not exist)") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise ControlError(f"{path}: is not a folder (a link or a file); refusing it for the "
                           "control socket (remove it, or set control.socket)")
    if st.st_uid != os.getuid():
        raise ControlError(f"{path}: belongs to user {st.st_uid}, not to you ({os.getuid()}); "
                           "refusing it for the control socket (remove it, or set "
                           "control.socket or XDG_RUNTIME_DIR)")
    if st.st_mode & 0o077:
        raise ControlError(f"{path}: others may enter it (mode {stat.S_IMODE(st.st_mode):04o});"
                           " refusing it for the control socket (chmod 700 it, or remove it)")
    return path


def _bind_path(path: Path) -> None:
    """Make ``path`` free for a new socket: nothing there, or a stale socket (removed). A live
    socket, a regular file, a folder or a link is refused."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a link"
                if stat.S_ISLNK(st.st_mode) else "a file")
        raise ControlError(f"{path}: exists and is {kind}, not a socket; refusing to replace it "
                           "(set control.socket to another path)")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        alive = probe.connect_ex(str(path)) == 0
    if alive:
        raise ControlError(f"{path}: another pedal daemon is running there")
    path.unlink(missing_ok=True)  # the stale socket of a daemon that died


def check_request(req) -> str | None:
    """Why ``req`` is not a valid request, or None."""
    if not isinstance(req, dict) or not isinstance(req.get("cmd"), str) \
            or not 0 < len(req["cmd"]) <= 32:
        return 'request must be {"cmd": "...", "args": [...]}'
    args = req.get("args", [])
    if not isinstance(args, list) or len(args) > MAX_ARGS:
        return f"args must be a list of at most {MAX_ARGS} values"
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (str, int, float)) or \
                (isinstance(a, str) and len(a) > MAX_ARG_CHARS):
            return f"every arg must be text (at most {MAX_ARG_CHARS} characters) or a number"
    return None


class _Conn:
    __slots__ = ("sock", "buf", "deadline", "out", "sent", "state")

    def __init__(self, sock, deadline):
        self.sock, self.buf, self.deadline = sock, b"", deadline
        self.out, self.sent, self.state = b"", 0, "reading"


class ControlServer:
    def __init__(self, path: Path, mode: int, handle, *, max_clients: int = 256,
                 request_s: float = 2.0, reply_s: float = 60.0):
        """handle(request: dict, reply) is called on the server thread; it calls
        ``reply(dict)`` then or later, from any thread, exactly once."""
        self.path = Path(path)
        self.handle = handle
        self.max_clients, self.request_s, self.reply_s = max_clients, request_s, reply_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _bind_path(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o777 & ~mode)  # never world-accessible, even for a moment
        try:
            self.sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, mode)
        self.sock.listen(256)
        self.sock.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._replies: collections.deque = collections.deque()
        self._conns: dict[int, _Conn] = {}
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.sock, selectors.EVENT_READ, "listen")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._stop = threading.Event()
        self.refused = 0
        self.thread = threading.Thread(target=self._serve, name="pedal-control", daemon=True)
        self.thread.start()

    # -- replies from any thread -------------------------------------------------------------
    def _replier(self, conn: _Conn):
        done: list[bool] = []

        def reply(obj):
            if done:
                return
            done.append(True)
            try:
                data = json.dumps(obj, default=str)
            except (TypeError, ValueError) as exc:
                data = json.dumps({"ok": False, "error": f"unserialisable reply: {exc}"})
            self._replies.append((conn, data.encode() + b"\n"))
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        return reply

    # -- the server thread -------------------------------------------------------------------
    def _serve(self):
        while not self._stop.is_set():
            now = time.monotonic()
            timeout = min([c.deadline for c in self._conns.values()] + [now + 0.5]) - now
            try:
                events = self._sel.select(max(0.0, timeout))
            except OSError:
                return
            for key, mask in events:
                if key.data == "listen":
                    self._accept()
                elif key.data == "wake":
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except OSError:
                        pass
                else:
                    conn = key.data
                    if mask & selectors.EVENT_READ and conn.state == "reading":
                        self._read(conn)
                    if mask & selectors.EVENT_WRITE and conn.state == "writing":
                        self._write(conn)
            while self._replies:
                conn, data = self._replies.popleft()
                if id(conn) in self._conns:
                    self._send(conn, data)
            now = time.monotonic()
            for conn in list(self._conns.values()):
                if now >= conn.deadline:
                    if conn.state == "waiting":
                        self._send(conn, b'{"ok": false, "error": "the daemon is busy; try '
                                         b'again"}\n')
                    else:
                        self._close(conn)  # too slow to send its request or take its reply

    def _accept(self):
        for _ in range(64):
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            if len(self._conns) >= self.max_clients:
                self.refused += 1
                try:
                    sock.send(b'{"ok": false, "error": "too many clients; try again"}\n')
                except OSError:
                    pass
                sock.close()
                continue
            conn = _Conn(sock, time.monotonic() + self.request_s)
            self._conns[id(conn)] = conn
            self._sel.register(sock, selectors.EVENT_READ, conn)

    def _read(self, conn: _Conn):
        try:
            chunk = conn.sock.recv(1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self._close(conn)
        conn.buf += chunk
        if len(conn.buf) > MAX_REQUEST:
            return self._send(conn, json.dumps(
                {"ok": False, "error": f"request over {MAX_REQUEST} bytes"}).encode() + b"\n")
        if chunk and not conn.buf.endswith(b"\n"):
            return
        if not conn.buf.strip():
            return self._close(conn)  # connected and left without a word
        try:
            req = json.loads(conn.buf.decode("utf-8"))
        except (ValueError, RecursionError):
            req = None
            why: str | None = "request is not JSON"
        else:
            why = check_request(req)
        conn.state = "waiting"  # nothing more is read from it; its reply is sent when ready
        conn.deadline = time.monotonic() + self.reply_s
        self._sel.unregister(conn.sock)
        reply = self._replier(conn)
        if why:
            return reply({"ok": False, "error": why})
        try:
            self.handle(req, reply)
        except Exception as exc:  # noqa: BLE001 - a bad request must not stop the server
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})

    def _send(self, conn: _Conn, data: bytes):
        if conn.state == "reading":
            self._sel.unregister(conn.sock)
        conn.out, conn.sent, conn.state = data, 0, "writing"
        conn.deadline = time.monotonic() + self.request_s
        try:
            self._sel.register(conn.sock, selectors.EVENT_WRITE, conn)
        except (KeyError, ValueError, OSError):
            return self._close(conn)
        self._write(conn)

    def _write(self, conn: _Conn):
        try:
            conn.sent += conn.sock.send(conn.out[conn.sent:])
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self._close(conn)
        if conn.sent >= len(conn.out):
            self._close(conn)

    def _close(self, conn: _Conn):
        self._conns.pop(id(conn), None)
        try:
            self._sel.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        conn.sock.close()

    def close(self):
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self.thread.join(2)
        for conn in list(self._conns.values()):
            self._close(conn)
        for s in (self.sock, self._wake_r, self._wake_w):
            s.close()
        self._sel.close()
        try:
            if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                self.path.unlink()
        except OSError:
            pass


def request(path: Path, cmd: str, args=(), timeout: float = 30.0) -> dict:
    """Send one request to the daemon and return its reply."""
    path = Path(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
    except FileNotFoundError:
        raise ControlError(f"{path}: no pedal daemon (the socket does not exist; is "
                           "`pedal run` or the pedal service running?)") from None
    except PermissionError:
        raise ControlError(f"{path}: permission denied (add yourself to the pedal group)") \
            from None
    except OSError as exc:
        raise ControlError(f"{path}: cannot reach the pedal daemon ({exc.strerror or exc})") \
            from None
    try:
        s.sendall(json.dumps({"cmd": cmd, "args": list(args)}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n") and len(data) < 16 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise ControlError(f"{path}: the daemon did not answer ({exc})") from None
    finally:
        s.close()
    try:
        reply = json.loads(data.decode())
    except ValueError:
        raise ControlError(f"{path}: the daemon's answer is not JSON") from None
    if not isinstance(reply, dict):
        raise ControlError(f"{path}: the daemon's answer is not a JSON object")
    return reply
