"""``python -m cio_devkit.devstack up|down|status|env``."""

from __future__ import annotations

import argparse
import json
import sys

from cio_devkit.devstack.stack import Devstack, DevstackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cio_devkit.devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    args = parser.parse_args(argv)
    stack = Devstack.default()
    try:
        if args.command == "up":
            before = {name for name, s in stack.status().items() if s.get("running")}
            stack.up()
            for name, info in stack.status().items():
                how = "reused" if name in before else "started"
                print(f"{name:<12} {how:<8} pid {info.get('pid')} on 127.0.0.1:{info.get('port')}")
            print(f"connections: source {stack.env_file}")
        elif args.command == "down":
            stopped = stack.down()
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        elif args.command == "status":
            print(json.dumps(stack.status(), indent=2))
            if not all(s.get("running") for s in stack.status().values()):
                return 3
        else:
            connections = stack.connections()
            if not connections:
                print(
                    "the devstack is not up: run `python -m cio_devkit.devstack up`",
                    file=sys.stderr,
                )
                return 3
            sys.stdout.write(stack.render_env())
    except DevstackError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
