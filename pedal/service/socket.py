"""The control socket: ``pedal status`` and ``pedal ctl`` talk to the daemon over a Unix
stream socket, one JSON request and one JSON reply per connection.

The socket file is created with ``control.socket_mode`` (0660 by default: the service's user
and group); systemd's RuntimeDirectory puts it in /run/pedal. The server thread only parses
requests and hands them to the daemon's control loop, which answers; it never touches audio.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

from ..errors import PedalError

MAX_REQUEST = 4096


class ControlError(PedalError, OSError):
    """The daemon cannot be reached, or refused the request."""


class ControlServer:
    def __init__(self, path: Path, mode: int, handle):
        """handle(request: dict) -> dict is called on the server thread and may block (the
        daemon's loop answers it)."""
        self.path = Path(path)
        self.handle = handle
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                alive = probe.connect_ex(str(self.path)) == 0
            if alive:
                raise ControlError(f"{self.path}: another pedal daemon is running there")
            self.path.unlink(missing_ok=True)  # the stale socket of a daemon that died
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o777 & ~mode)  # never world-accessible, even for a moment
        try:
            self.sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, mode)
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="pedal-control", daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    reply = self._one(conn)
                except Exception as exc:  # noqa: BLE001 - a bad client must not stop the server
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                try:
                    data = json.dumps(reply, default=str)
                except (TypeError, ValueError) as exc:
                    data = json.dumps({"ok": False, "error": f"unserialisable reply: {exc}"})
                try:
                    conn.sendall(data.encode() + b"\n")
                except OSError:
                    pass

    def _one(self, conn) -> dict:
        data = b""
        while not data.endswith(b"\n") and len(data) <= MAX_REQUEST:
            chunk = conn.recv(1024)
            if not chunk:
                break
            data += chunk
        if len(data) > MAX_REQUEST:
            return {"ok": False, "error": f"request over {MAX_REQUEST} bytes"}
        try:
            req = json.loads(data.decode("utf-8") or "null")
        except ValueError:
            return {"ok": False, "error": "request is not JSON"}
        if not isinstance(req, dict) or not isinstance(req.get("cmd"), str):
            return {"ok": False, "error": 'request must be {"cmd": ..., "args": [...]}'}
        return self.handle(req)

    def close(self):
        self._stop.set()
        try:
            self.sock.close()
        finally:
            self.thread.join(2)
            try:
                self.path.unlink()
            except OSError:
                pass


def request(path: Path, cmd: str, args=(), timeout: float = 30.0) -> dict:
    """Send one request to the daemon and return its reply."""
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
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise ControlError(f"{path}: the daemon did not answer ({exc})") from None
    finally:
        s.close()
    try:
        return json.loads(data.decode())
    except ValueError:
        raise ControlError(f"{path}: the daemon's answer is not JSON") from None
