"""Strict host-key checking with fingerprints and exact remedies in the refusal messages.

asyncssh matches the presented key against the known_hosts we hand it; when the key is not
among the trusted ones it asks the client's ``validate_host_public_key`` hook, which calls
:meth:`HostKeyJudge.judge`. The judge tells *unknown* (no entry for the host: refuse, or
append when accept-new is on) from *changed* (entries exist but none matches: always refuse,
whatever the options say), and keeps the facts so the pool can raise a precise error.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

from cockpit.ssh.config import SshTarget
from cockpit.ssh.errors import HostKeyChanged, HostKeyUnknown


def load_known_hosts(paths: tuple[Path, ...]) -> asyncssh.SSHKnownHosts:
    """Every readable known_hosts file merged (missing files are simply empty)."""
    text = "".join(_read_text(p) for p in paths)
    return asyncssh.import_known_hosts(text)


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    return key.get_fingerprint("sha256")


def known_hosts_line(pattern: str, key: asyncssh.SSHKey) -> str:
    """One known_hosts line (``pattern keytype base64``) for ``key``."""
    keytype, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"{pattern} {keytype} {blob}\n"


class HostKeyJudge:
    """Decides on one connection attempt's host key and remembers why it refused."""

    def __init__(self, target: SshTarget, known: asyncssh.SSHKnownHosts, accept_new: bool) -> None:
        self.target = target
        self.known = known
        self.accept_new = accept_new
        self.refusal: HostKeyUnknown | HostKeyChanged | None = None
        self.accepted: str | None = None

    def judge(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        """True to trust ``key`` (only a new key with accept-new); False refuses."""
        old_keys = self._known_keys(host, addr, port)
        if old_keys:
            self.refusal = changed_key_error(self.target, key, old_keys)
            return False
        if self.accept_new:
            self._append(key)
            self.accepted = fingerprint(key)
            return True
        self.refusal = unknown_key_error(self.target, key)
        return False

    def _known_keys(self, host: str, addr: str, port: int) -> list[asyncssh.SSHKey]:
        lookup_port = None if port == 22 else port
        trusted = list(self.known.match(host, addr, lookup_port)[0])
        if host != self.target.hostname:
            trusted += self.known.match(self.target.hostname, addr, lookup_port)[0]
        return trusted

    def _append(self, key: asyncssh.SSHKey) -> None:
        path = self.target.user_known_hosts
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(known_hosts_line(self.target.known_hosts_pattern, key))
            fh.flush()
            os.fsync(fh.fileno())


def unknown_key_error(target: SshTarget, key: asyncssh.SSHKey) -> HostKeyUnknown:
    """The refusal for a key known_hosts has never seen."""
    fp, kh = fingerprint(key), target.user_known_hosts
    message = (f"host key of {target.describe()} is not in {kh} ({key.get_algorithm()} {fp}); "
               f"after checking that fingerprint on the node, add it with "
               f"`ssh-keyscan -p {target.port} {target.hostname} >> {kh}` or re-run with --accept-new-host-keys")
    return HostKeyUnknown(message, host=target.hostname, port=target.port, fingerprint=fp, known_hosts=str(kh))


def changed_key_error(target: SshTarget, key: asyncssh.SSHKey, old: list[asyncssh.SSHKey]) -> HostKeyChanged:
    """The refusal for a key that differs from the recorded one (possible man-in-the-middle)."""
    fp, kh = fingerprint(key), target.user_known_hosts
    olds = sorted({fingerprint(k) for k in old})
    message = (f"HOST KEY CHANGED for {target.describe()}: known_hosts has {', '.join(olds)} but the node "
               f"presents {fp}; refused (possible man-in-the-middle; --accept-new-host-keys never accepts "
               f"a changed key). If the change is expected, verify the new key on the node, then run "
               f"`ssh-keygen -R '{target.known_hosts_pattern}' -f {kh}`")
    return HostKeyChanged(message, host=target.hostname, port=target.port, fingerprint=fp,
                          old_fingerprints=olds, known_hosts=str(kh))


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text if text.endswith("\n") or not text else text + "\n"
