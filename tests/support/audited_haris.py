"""Runs the `haris` command (arguments as on the command line) with a Python audit hook that writes
`NETWORK <event> <address>` to stderr for every connection or name lookup beyond the loopback:
tests run `haris app` under it to check that the page calls nothing outside the machine."""

from __future__ import annotations

import ipaddress
import sys

LOCAL_NAMES = {"localhost", "", None}


def _is_local(host: object) -> bool:
    if host in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a host name other than localhost: a lookup that may leave the machine
    return address.is_loopback or address.is_unspecified


def _report(event: str, args: tuple) -> None:
    if event == "socket.connect" and isinstance(args[1], tuple) and not _is_local(args[1][0]):
        print(f"NETWORK {event} {args[1]}", file=sys.stderr, flush=True)
    elif event == "socket.getaddrinfo" and not _is_local(args[0]):
        print(f"NETWORK {event} {args[0]}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.addaudithook(_report)
    from haris.cli import main

    sys.exit(main(sys.argv[1:]))
