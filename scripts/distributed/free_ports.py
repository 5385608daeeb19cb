"""Print N distinct loopback ports that nobody listens on right now (the OS picks them)."""

from __future__ import annotations

import socket
import sys


def free_ports(count: int) -> list[int]:
    """Hold every socket open until all are picked, so the N ports are distinct."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


if __name__ == "__main__":
    print(" ".join(str(port) for port in free_ports(int(sys.argv[1]))))
