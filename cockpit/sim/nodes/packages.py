"""apt-get / apt-mark / dpkg-query (Debian nodes) and dnf / rpm (RHEL nodes) on a simulated node.

Behaves like the real tools where the upgrade procedure cares: ``apt-get install`` refuses
held packages without ``--allow-change-held-packages`` (exit 100), needs ``-y``, and fails
with "Version ... was not found" for versions the repository lacks; ``dnf install`` finds
nothing while the kubernetes repo's ``exclude=`` applies (``--disableexcludes=kubernetes``).
Installing changes ``NodeRuntime.installed`` at once; the running kubelet keeps its version
until ``systemctl restart kubelet``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cockpit.sim.nodes.base import DEB_REVISION, K8S_PACKAGES, RPM_REVISION, ShellIO, parse_version

if TYPE_CHECKING:
    from cockpit.sim.nodes.shell import NodeShell


def available(shell: NodeShell, package: str, version: str, revision: str, rpm: bool) -> bool:
    """Whether the (simulated) package repository has ``package`` at ``version-revision``.

    The repository serves the node's current minor and the next one, patches 0..15, with
    the pkgs.k8s.io revision; the repo switch of a minor upgrade is not modelled.
    """
    wanted, current = parse_version(version), parse_version(shell._installed(package) or "")
    if wanted is None or current is None or wanted[0] != 1 or wanted[2] > 15:
        return False
    if not current[1] <= wanted[1] <= current[1] + 1:
        return False
    canonical = RPM_REVISION if rpm else DEB_REVISION
    return revision in ("*", canonical) or (revision.endswith("*") and canonical.startswith(revision[:-1]))


async def apt_mark(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    if not args or args[0] not in ("hold", "unhold", "showhold"):
        io.err("E: Invalid operation " + (args[0] if args else "") + "\n")
        return 100
    held = shell.runtime.held_packages
    if args[0] == "showhold":
        io.out("".join(f"{p}\n" for p in sorted(held)))
        return 0
    for package in args[1:]:
        if package not in K8S_PACKAGES:
            io.err(f"E: Unable to locate package {package}\n")
            return 100
        _mark(held, args[0], package, io)
    return 0


def _mark(held: set[str], verb: str, package: str, io: ShellIO) -> None:
    if verb == "hold":
        io.out(f"{package} was already set on hold.\n" if package in held else f"{package} set on hold.\n")
        held.add(package)
    else:
        io.out(f"Canceled hold on {package}.\n" if package in held else f"{package} was already not on hold.\n")
        held.discard(package)


async def apt_get(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    if args[:1] == ["update"]:
        await shell.pause(2)
        io.out("Hit:1 http://deb.debian.org/debian bookworm InRelease\n")
        io.out("Hit:2 https://prod-cdn.packages.k8s.io/repositories/isv:/kubernetes:/core:/stable:/deb  InRelease\n")
        io.out("Reading package lists...\n")
        return 0
    if args[:1] != ["install"]:
        io.err(f"E: Invalid operation {args[0] if args else ''}\n")
        return 100
    flags = {a for a in args[1:] if a.startswith("-")}
    specs = [a for a in args[1:] if not a.startswith("-")]
    return await _apt_install(shell, specs, flags, io)


async def _apt_install(shell: NodeShell, specs: list[str], flags: set[str], io: ShellIO) -> int:
    io.out("Reading package lists...\nBuilding dependency tree...\nReading state information...\n")
    wanted: dict[str, str] = {}
    for spec in specs:
        package, _, pkg_version = spec.partition("=")
        if package not in K8S_PACKAGES:
            io.err(f"E: Unable to locate package {package}\n")
            return 100
        version, _, revision = pkg_version.partition("-")
        if not available(shell, package, version, revision or "*", rpm=False):
            io.err(f"E: Version '{pkg_version}' for '{package}' was not found\n")
            return 100
        wanted[package] = version
    changing = [p for p, v in wanted.items() if shell._installed(p) != v]
    held = sorted(p for p in changing if p in shell.runtime.held_packages)
    if held:
        io.out("The following held packages will be changed:\n  " + " ".join(held) + "\n")
        if "--allow-change-held-packages" not in flags:
            io.err("E: Held packages were changed and -y was used without --allow-change-held-packages.\n")
            return 100
    if changing and not flags & {"-y", "--yes", "--assume-yes", "-qy", "-yq"}:
        io.out("Do you want to continue? [Y/n] Abort.\n")
        return 1
    for package in wanted:
        if package not in changing:
            io.out(f"{package} is already the newest version ({wanted[package]}-{DEB_REVISION}).\n")
    await _unpack(shell, changing, wanted, io)
    return 0


async def _unpack(shell: NodeShell, changing: list[str], wanted: dict[str, str], io: ShellIO) -> None:
    if not changing:
        io.out("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n")
        return
    io.out("The following packages will be upgraded:\n  " + " ".join(changing) + "\n")
    io.out(f"{len(changing)} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n")
    await shell.pause(3)
    for i, package in enumerate(changing, 1):
        io.out(f"Get:{i} https://prod-cdn.packages.k8s.io/repositories/isv:/kubernetes:/core:/stable:/deb  "
               f"{package} {wanted[package]}-{DEB_REVISION} [11.2 MB]\n")
    for package in changing:
        old, new = shell._installed(package), f"{wanted[package]}-{DEB_REVISION}"
        io.out(f"Preparing to unpack .../{package}_{new}_amd64.deb ...\n")
        io.out(f"Unpacking {package} ({new}) over ({old}-{DEB_REVISION}) ...\n")
        await shell.pause(1)
        shell._set_installed(package, wanted[package])
        io.out(f"Setting up {package} ({new}) ...\n")


async def dnf(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    if args[:1] != ["install"]:
        io.err(f"No such command: {args[0] if args else ''}. Please use /usr/bin/dnf --help\n")
        return 1
    flags = {a for a in args[1:] if a.startswith("-")}
    excludes_off = flags & {"--disableexcludes=kubernetes", "--disableexcludes=all",
                            "--setopt=disable_excludes=kubernetes"}
    io.out("Last metadata expiration check: 0:14:05 ago.\n")
    wanted: dict[str, str] = {}
    for spec in (a for a in args[1:] if not a.startswith("-")):
        m = re.fullmatch(r"(kubeadm|kubelet|kubectl)-(\d+\.\d+\.\d+)(?:-(.+))?", spec)
        if not m or not excludes_off or not available(shell, m[1], m[2], m[3] or "*", rpm=True):
            io.err(f"No match for argument: {spec}\nError: Unable to find a match: {spec}\n")
            return 1
        wanted[m[1]] = m[2]
    if not flags & {"-y", "--assumeyes"}:
        io.out("Is this ok [y/N]: Operation aborted.\n")
        return 1
    await _dnf_transaction(shell, wanted, io)
    return 0


async def _dnf_transaction(shell: NodeShell, wanted: dict[str, str], io: ShellIO) -> None:
    changing = [p for p, v in wanted.items() if shell._installed(p) != v]
    if not changing:
        io.out("Dependencies resolved.\nNothing to do.\nComplete!\n")
        return
    io.out("Dependencies resolved.\nUpgrading:\n")
    for package in changing:
        io.out(f" {package:<12} x86_64  {wanted[package]}-{RPM_REVISION}  kubernetes  11 M\n")
    io.out(f"\nTransaction Summary\nUpgrade  {len(changing)} Package(s)\n\nDownloading Packages:\n")
    await shell.pause(3)
    io.out("Running transaction\n")
    for package in changing:
        await shell.pause(1)
        shell._set_installed(package, wanted[package])
        io.out(f"  Upgrading        : {package}-{wanted[package]}-{RPM_REVISION}.x86_64\n")
    io.out("Complete!\n")


def dpkg_query(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    """``dpkg-query -W [-f=FORMAT] PACKAGE...`` (``${Package}``, ``${Version}``, ``\\n``)."""
    fmt, packages, rest = "${Package}\t${Version}\n", [], iter(args)
    for arg in rest:
        if arg.startswith(("-f=", "--showformat=")):
            fmt = arg.split("=", 1)[1]
        elif arg in ("-f", "--showformat"):
            fmt = next(rest, fmt)
        elif not arg.startswith("-"):
            packages.append(arg)
    status = 0
    for package in packages:
        version = shell._installed(package) if package in K8S_PACKAGES else None
        if not version:
            io.err(f"dpkg-query: no packages found matching {package}\n")
            status = 1
            continue
        text = fmt.replace("${Package}", package).replace("${Version}", f"{version}-{DEB_REVISION}")
        io.out(text.replace("\\n", "\n"))
    return status


def rpm(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    """``rpm -q [--queryformat FMT] PACKAGE...`` (``%{NAME}``, ``%{VERSION}``, ``%{RELEASE}``)."""
    if args[:1] != ["-q"]:
        io.err("rpm: only 'rpm -q PACKAGE...' is supported on simulated nodes\n")
        return 1
    fmt, packages, rest = None, [], iter(args[1:])
    for arg in rest:
        if arg in ("--queryformat", "--qf"):
            fmt = next(rest, None)
        elif not arg.startswith("-"):
            packages.append(arg)
    status = 0
    for package in packages:
        version = shell._installed(package) if package in K8S_PACKAGES else None
        if not version:
            io.out(f"package {package} is not installed\n")
            status = 1
        elif fmt is None:
            io.out(f"{package}-{version}-{RPM_REVISION}.x86_64\n")
        else:
            text = fmt.replace("%{NAME}", package).replace("%{VERSION}", version).replace("%{RELEASE}", RPM_REVISION)
            io.out(text.replace("\\n", "\n"))
    return status


