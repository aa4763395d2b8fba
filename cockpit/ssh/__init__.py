"""SSH to cluster nodes (asyncssh): OpenSSH config + known_hosts, strict host keys, reused
connections, quoted commands with streamed output. Never imports Textual.

Public API (see each module's docstring):

* :class:`cockpit.ssh.pool.SshPool` / :class:`cockpit.ssh.pool.CommandResult` — run commands on nodes.
* :mod:`cockpit.ssh.commands` — validators and the exact kubeadm/apt/dnf/systemctl/kubectl argvs.
* :mod:`cockpit.ssh.config` — how a node is reached (alias, HostName, port, user, known_hosts).
* :mod:`cockpit.ssh.errors` — HostKeyUnknown, HostKeyChanged, SshUnreachable, SshAuthFailed,
  SshDropped, CommandTimeout, CommandFailed, UnsafeArgument, SshConfigError.
"""

from cockpit.ssh.errors import (CommandFailed, CommandTimeout, HostKeyChanged, HostKeyUnknown,
                                SshAuthFailed, SshConfigError, SshDropped, SshError, SshUnreachable,
                                UnsafeArgument)
from cockpit.ssh.pool import CommandResult, SshPool

__all__ = ["SshPool", "CommandResult", "SshError", "HostKeyUnknown", "HostKeyChanged", "SshUnreachable",
           "SshAuthFailed", "SshDropped", "CommandTimeout", "CommandFailed", "UnsafeArgument", "SshConfigError"]
