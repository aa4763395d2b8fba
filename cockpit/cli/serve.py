"""`cockpit serve`: a follow-mode cockpit in a browser, for watchers without a terminal.

textual-serve runs one ``cockpit --follow`` process per browser tab and relays the terminal over
a WebSocket. The served command line is fixed here, so nothing a browser sends (keys, mouse,
resizes) can choose another command or drop ``--follow``: every watcher's session is read-only.

The server binds to 127.0.0.1 by default. It has no login, so a non-loopback address (anyone
who can reach it sees the cluster) needs ``--allow-remote``. Each request must also name this
server in ``Host`` and, when a browser sends one, in ``Origin``: a web page from elsewhere cannot
open the WebSocket (browsers let any page do that) nor reach it by rebinding a DNS name.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import shlex
import sys
from typing import Any
from urllib.parse import urlsplit

from cockpit.errors import UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# Global options handed on to the served cockpit: what to watch and how to show it.
FORWARDED_OPTIONS = (("kubeconfig", "--kubeconfig"), ("context", "--context"), ("namespace", "--namespace"),
                     ("journal", "--journal"), ("ssh_config", "--ssh-config"), ("theme", "--theme"))


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add ``serve``."""
    parser = subparsers.add_parser(
        "serve", parents=[common],
        help="serve a read-only (follow-mode) cockpit to a web browser",
        description="Serve `cockpit --follow` (read-only, always) to web browsers with textual-serve. "
                    "Each browser tab gets its own follow-mode cockpit with the same kubeconfig, context, "
                    "namespace and journal options.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default: {DEFAULT_HOST}; a non-loopback one needs --allow-remote)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default: {DEFAULT_PORT})")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow listening on a non-loopback address (the page has no login: "
                             "anyone who reaches it sees the cluster)")
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Check the address, then serve until interrupted; returns the exit status."""
    check_bind(args.host, args.port, args.allow_remote)
    make_server(served_command(args), args.host, args.port, args.allow_remote).serve()
    return 0


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals; any other name could resolve anywhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int, allow_remote: bool) -> None:
    """Refuse a bad port, and a non-loopback host unless remote watchers were explicitly allowed."""
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: give a TCP port from 1 to 65535")
    if not allow_remote and not is_loopback(host):
        raise UsageError(f"--host {host}: refusing to listen beyond this machine (the served cockpit has no "
                         f"login, so anyone who can reach it would see the cluster); use 127.0.0.1, or add "
                         f"--allow-remote if that is what you want")


def served_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve runs per browser tab: this cockpit, in follow mode."""
    argv = [sys.executable, "-m", "cockpit", "--follow"]
    for name, option in FORWARDED_OPTIONS:
        value = getattr(args, name, None)
        if value:
            argv += [option, str(value)]
    return shlex.join(argv)


def url_host(host: str) -> str:
    """``host`` as it appears in a URL (an IPv6 literal in brackets)."""
    bare = host.strip("[]")
    return f"[{bare}]" if ":" in bare else bare


def is_trusted(headers: Any, known_hosts: set[str], allow_remote: bool) -> bool:
    """Whether a request names this server in ``Host`` and, if it has an ``Origin``, comes from its page.

    ``known_hosts`` are this server's ``name:port`` forms; with ``allow_remote`` any Host is accepted
    (watchers may use any name for it) but the Origin must still match that Host.
    """
    host = (headers.get("Host") or "").lower()
    if not allow_remote and host not in known_hosts:
        return False
    origin = headers.get("Origin")
    if origin is None:  # not a browser page's request (curl, a health check)
        return True
    netloc = urlsplit(origin).netloc.lower()
    return netloc == host or (not allow_remote and netloc in known_hosts)


def known_hosts(host: str, port: int) -> set[str]:
    """The ``name:port`` forms a browser may use for this server: the bound host and the loopback names."""
    return {f"{url_host(name)}:{port}".lower() for name in (*LOOPBACK_NAMES, host)}


def make_server(command: str, host: str, port: int, allow_remote: bool = False) -> Any:
    """textual-serve's Server for ``command``, answering only requests addressed to itself.

    textual-serve is imported here, so the rest of the CLI starts without it.
    """
    from aiohttp import web
    from textual_serve.server import Server

    names = known_hosts(host, port)

    class FollowServer(Server):
        """textual-serve's server with a Host and Origin check before the page and the WebSocket."""

        def refuse_untrusted(self, request: web.Request) -> None:
            if not is_trusted(request.headers, names, allow_remote):
                raise web.HTTPForbidden(text="cockpit serve: this request does not come from this server's page\n")

        async def handle_index(self, request: web.Request) -> Any:
            self.refuse_untrusted(request)
            # The page's WebSocket URL uses the name the browser used (0.0.0.0 would reach nobody);
            # the base handler reads it before its first await, so requests cannot interleave here.
            self.public_url = f"http://{request.host}"
            return without_remote_fonts(await super().handle_index(request))

        async def handle_websocket(self, request: web.Request) -> Any:
            self.refuse_untrusted(request)
            return await super().handle_websocket(request)

    return FollowServer(command, host=host, port=port, title="cockpit (follow mode, read-only)",
                        public_url=f"http://{url_host(host)}:{port}")


REMOTE_STYLESHEET = re.compile(rb"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>", re.IGNORECASE | re.DOTALL)


def without_remote_fonts(response: Any) -> Any:
    """The page without stylesheets from other sites (textual-serve's links a web font): nothing the
    cockpit serves makes the browser reach beyond this machine; the terminal falls back to a local
    monospace font."""
    body = getattr(response, "body", None)
    if isinstance(body, bytes):
        response.body = REMOTE_STYLESHEET.sub(b"", body)
    return response
