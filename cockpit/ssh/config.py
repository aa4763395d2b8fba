"""Where and how to reach a node: the user's OpenSSH client config and known_hosts.

``SshClientConfig(path)`` reads an OpenSSH ``ssh_config`` (``--ssh-config PATH`` or
``~/.ssh/config``) with asyncssh's parser, which understands ``Host`` aliases and patterns,
``HostName``, ``Port``, ``User``, ``IdentityFile``, ``ProxyJump``, ``UserKnownHostsFile`` ...
``target(node, address)`` decides how a Kubernetes node is reached:

* by its node name used as a host alias when the config gives that name a ``HostName``;
* otherwise by the node's InternalIP (``address``), with the config re-applied to the IP so
  ``Host 10.0.*`` blocks still set the user, port and keys;
* otherwise by the bare node name (DNS).

known_hosts are the config's ``UserKnownHostsFile`` (+ ``GlobalKnownHostsFile``) or
``~/.ssh/known_hosts`` (+ ``/etc/ssh/ssh_known_hosts``); the first user file is where
``--accept-new-host-keys`` appends and what the error remedies name. The ssh-agent is used by
asyncssh automatically when ``SSH_AUTH_SOCK`` is set.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from asyncssh.config import SSHClientConfig as _AsyncsshConfig

from cockpit.ssh.errors import SshConfigError

DEFAULT_CONFIG = Path("~/.ssh/config")
DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
GLOBAL_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")


@dataclass(frozen=True)
class SshTarget:
    """How one node is reached.

    ``host`` is what goes to ``asyncssh.connect`` (alias or address; the config is applied
    to it again there, so ProxyJump and IdentityFile keep working); ``hostname``/``port``
    are the resolved endpoint, used for known_hosts lookups and messages.
    """

    node: str
    host: str
    hostname: str
    port: int
    username: str | None
    user_known_hosts: Path
    known_hosts: tuple[Path, ...]

    @property
    def known_hosts_pattern(self) -> str:
        """The host as OpenSSH writes it in known_hosts (``[host]:port`` off port 22)."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    def describe(self) -> str:
        """``node (user@host:port)`` for messages."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.node} ({user}{self.hostname}:{self.port})"


class SshClientConfig:
    """The user's OpenSSH client configuration (read once, looked up per node)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.paths = _config_paths(path)

    def lookup(self, host: str) -> _AsyncsshConfig:
        """asyncssh's view of the options that apply to ``host``."""
        try:
            return _AsyncsshConfig.load(None, list(self.paths), False, False, False,
                                        _local_user(), (), host, ())
        except (OSError, ValueError) as exc:
            where = ", ".join(str(p) for p in self.paths)
            raise SshConfigError(f"cannot read ssh config {where}: {exc}") from None

    def target(self, node: str, address: str | None = None) -> SshTarget:
        """Resolve how ``node`` is reached (alias first, then its InternalIP ``address``)."""
        config = self.lookup(node)
        host = node
        if config.get("Hostname") is None and address:
            host, config = address, self.lookup(address)
        hostname = str(config.get("Hostname") or host)
        user_files, all_files = _known_hosts_files(config)
        return SshTarget(node=node, host=host, hostname=hostname,
                         port=int(config.get("Port") or 22),
                         username=config.get("User"),
                         user_known_hosts=user_files[0] if user_files else DEFAULT_KNOWN_HOSTS.expanduser(),
                         known_hosts=tuple(all_files))


def _config_paths(path: str | os.PathLike[str] | None) -> tuple[Path, ...]:
    """An explicit path must exist; the default one is optional (like ssh -F vs ~/.ssh/config)."""
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise SshConfigError(f"ssh config {explicit} does not exist (given with --ssh-config)")
        return (explicit,)
    default = DEFAULT_CONFIG.expanduser()
    return (default,) if os.access(default, os.R_OK) else ()


def _known_hosts_files(config: _AsyncsshConfig) -> tuple[list[Path], list[Path]]:
    """(user files, user + global files) for a host, OpenSSH defaults when unset."""
    user = config.get("UserKnownHostsFile")
    if user is None:
        user_files = [DEFAULT_KNOWN_HOSTS.expanduser()]
    else:
        # "UserKnownHostsFile none" parses to []: strict checking then refuses every key.
        user_files = [Path(p).expanduser() for p in user if p.lower() != "none"]
    global_ = config.get("GlobalKnownHostsFile")
    global_files = [GLOBAL_KNOWN_HOSTS] if global_ is None else [Path(p).expanduser() for p in global_]
    return user_files, user_files + global_files


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root"
