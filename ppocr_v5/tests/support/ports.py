"""Loopback ports for servers the tests start, and one that nothing listens on."""

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it, so parallel runs do not collide)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def closed_port_url(host: str = "127.0.0.1") -> str:
    """An http URL on a loopback port nothing listens on (connections are refused)."""
    return f"http://{host}:{free_port(host)}"
