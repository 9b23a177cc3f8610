"""Loopback ports for local daemons, one per name and kept across restarts.

A runtime that comes back on the port it had keeps every console's URL working: the console
reconnects and resumes its event stream instead of having to look the agent up again. A kept
port is only given back if nothing listens on it meanwhile; otherwise the name gets a new one.
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def _bindable(host: str, port: int) -> bool:
    """Whether a server could listen on `port` now. SO_REUSEADDR as uvicorn sets it, so the
    connections of the previous process still in TIME_WAIT do not count as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class PortBook:
    """Which name has which port on `host`."""

    def __init__(self, host: str = LOOPBACK) -> None:
        self.host = host
        self._ports: dict[str, int] = {}

    def port_for(self, name: str) -> int:
        """The port `name` had if it is still free, else a free one (remembered for `name`).
        Another process may still take it before the daemon binds it: the daemon then fails
        to start and its restart asks again."""
        kept = self._ports.get(name)
        if kept is not None and _bindable(self.host, kept):
            return kept
        taken = set(self._ports.values())
        port = _ephemeral(self.host)
        while port in taken:
            port = _ephemeral(self.host)
        self._ports[name] = port
        return port

    def release(self, name: str) -> None:
        self._ports.pop(name, None)
