"""Write the compose stack's ``env.sh``: the devstack's own connection factories, fed with the compose ports.

The Airflow containers source it before starting, so they get exactly the ``AIRFLOW_CONN_*`` (and extra
variables, such as the gRPC trust bundle) that ``python -m cio_devkit.devstack env`` gives locally. Some
connections carry values the emulators create when they start (the Google user-list ids), which is why this runs
after they are healthy rather than living as static values in docker-compose.yml.

    python docker/write_env.py --state-dir /state --port azurite=10000 --port google=9101 ...
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any


def parse_ports(items: list[str]) -> dict[str, int]:
    """``["google=9101", ...]`` -> ``{"google": 9101}``."""
    ports = {}
    for item in items:
        name, _, port = item.partition("=")
        if not name or not port.isdigit():
            raise ValueError(f"--port wants NAME=PORT, got {item!r}")
        ports[name] = int(port)
    return ports


def render_env(state_dir: Path, ports: dict[str, int]) -> str:
    """``export NAME=value`` lines for every devstack service; each one needs a port in ``ports``."""
    from cio_devkit.devstack.stack import Devstack

    stack = Devstack(state_dir)
    missing = sorted(service.name for service in stack.services if service.name not in ports)
    if missing:
        raise ValueError(
            f"no compose port for devstack service(s) {', '.join(missing)}: add them to the compose file"
        )
    connections: dict[str, dict[str, Any]] = {}
    environment: dict[str, str] = {}
    for service in stack.services:
        connections.update(service.connections(stack, ports[service.name]))
        if service.environment is not None:
            environment.update(service.environment(stack, ports[service.name]))
    variables = {**Devstack.connection_env(connections), **environment}
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in sorted(variables.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", action="append", default=[], help="SERVICE=PORT, once per devstack service")
    args = parser.parse_args(argv)
    try:
        text = render_env(args.state_dir, parse_ports(args.port))
    except (ValueError, OSError) as exc:
        print(f"write_env: {exc}", file=sys.stderr)
        return 2
    target = args.state_dir / "env.sh"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(target)
    names = [line.split("=", 1)[0].removeprefix("export ") for line in text.splitlines()]
    print(f"wrote {target}: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
