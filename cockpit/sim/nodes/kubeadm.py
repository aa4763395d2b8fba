"""``kubeadm version | upgrade plan | upgrade apply | upgrade node | certs check-expiration`` on a simulated node.

The version rules are kubeadm's (``EnforceVersionPolicies``): no skipping a minor, the
target may not be newer than kubeadm itself nor a minor above kubeadm's, and ``apply`` /
``plan`` need ``/etc/kubernetes/admin.conf`` (control-plane nodes only). ``apply`` refuses
while a control-plane Node is NotReady (the ControlPlaneNodesReady health check).
Output follows recent kubeadm (1.32-1.34 transcripts); ``plan -o json`` prints an
``output.kubeadm.k8s.io/v1alpha3`` UpgradePlan on stdout and the log lines on stderr.
``certs check-expiration`` reports certificates issued when the Node joined (kubeadm's one
year for leaf certificates, ten for the CAs).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from cockpit.domain.certs import residual_text

from cockpit.sim.nodes.base import CONTROL_PLANE_LABEL, ShellIO, json_dump, parse_version

if TYPE_CHECKING:
    from cockpit.sim.nodes.shell import NodeShell

NO_ADMIN_CONF = ('couldn\'t create a Kubernetes client from file "/etc/kubernetes/admin.conf": failed to load '
                 'admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory\n'
                 'To see the stack trace of this error execute with --v=5 or higher\n')
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


async def run(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    """Dispatch a kubeadm sub-command."""
    if args[:1] == ["version"]:
        return _version(shell, args[1:], io)
    if args[:2] == ["certs", "check-expiration"]:
        return _check_expiration(shell, io)
    if args[:1] == ["upgrade"] and len(args) > 1:
        sub, rest = args[1], args[2:]
        if sub == "plan":
            return await _plan(shell, rest, io)
        if sub == "apply":
            return await _apply(shell, rest, io)
        if sub == "node":
            return await _node(shell, io)
    io.err(f'unknown command "{" ".join(args)}" for "kubeadm"\nRun \'kubeadm --help\' for usage.\n')
    return 1


def _version(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    version = f"v{shell._installed('kubeadm')}"
    output = args[args.index("-o") + 1] if "-o" in args[:-1] else ""
    major, minor, _ = parse_version(version) or (1, 0, 0)
    info = {"major": str(major), "minor": str(minor), "gitVersion": version, "gitTreeState": "clean",
            "goVersion": "go1.24.4", "compiler": "gc", "platform": "linux/amd64"}
    if output == "short":
        io.out(version + "\n")
    elif output == "json":
        io.out(json_dump({"clientVersion": info}))
    else:
        io.out(f'kubeadm version: &version.Info{{Major:"{major}", Minor:"{minor}", GitVersion:"{version}", '
               f'GitTreeState:"clean", GoVersion:"go1.24.4", Compiler:"gc", Platform:"linux/amd64"}}\n')
    return 0


# -- certs check-expiration ---------------------------------------------------------------

LEAF_CERTS = (("admin.conf", "ca"), ("apiserver", "ca"), ("apiserver-etcd-client", "etcd-ca"),
              ("apiserver-kubelet-client", "ca"), ("controller-manager.conf", "ca"),
              ("etcd-healthcheck-client", "etcd-ca"), ("etcd-peer", "etcd-ca"), ("etcd-server", "etcd-ca"),
              ("front-proxy-client", "front-proxy-ca"), ("scheduler.conf", "ca"), ("super-admin.conf", "ca"))
CAS = ("ca", "etcd-ca", "front-proxy-ca")


def _check_expiration(shell: NodeShell, io: ShellIO) -> int:
    if not shell.is_control_plane():
        io.err(NO_ADMIN_CONF)
        return 1
    node = shell.cluster.store.get("nodes", None, shell.node)
    born = node["metadata"].get("creationTimestamp", "") if node else ""
    issued = datetime.fromisoformat(born.replace("Z", "+00:00")) if born else shell.cluster.clock.now()
    now = shell.cluster.clock.now()
    leaf, ca = issued + timedelta(days=365), issued + timedelta(days=3650)
    io.out('[check-expiration] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n'
           "[check-expiration] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.\n\n")
    rows = [("CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED")]
    rows += [(name, _expiry(leaf), residual_text((leaf - now).total_seconds()), authority, "no")
             for name, authority in LEAF_CERTS]
    io.out(_table(rows) + "\n")
    rows = [("CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED")]
    rows += [(name, _expiry(ca), residual_text((ca - now).total_seconds()), "no") for name in CAS]
    io.out(_table(rows))
    return 0


def _expiry(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%b %d, %Y %H:%M UTC")


# -- version policy ------------------------------------------------------------------------

def policy_errors(cluster_version: str, kubeadm_version: str, target: str, force: bool) -> tuple[list[str], bool]:
    """(errors, all_skippable) for upgrading ``cluster_version`` to ``target`` with this kubeadm."""
    cluster, kubeadm, new = (parse_version(v) for v in (cluster_version, kubeadm_version, target))
    assert cluster and kubeadm and new
    mandatory, skippable = [], []
    if new[1] > cluster[1] + 1:
        mandatory.append(f'Specified version to upgrade to "v{target}" is too high; kubeadm can upgrade only '
                         f'1 minor version at a time')
    if new[:2] < cluster[:2]:
        mandatory.append(f'Specified version to upgrade to "v{target}" is at least one minor release lower than '
                         f'the cluster version "v{cluster_version}". Such a downgrade is not supported')
    elif new < cluster:
        skippable.append(f'Specified version to upgrade to "v{target}" is equal to or lower than the cluster '
                         f'version "v{cluster_version}". Downgrades are not supported yet')
    if new[1] > kubeadm[1]:
        mandatory.append(f'Specified version to upgrade to "v{target}" is at least one minor release higher than '
                         f'the kubeadm minor release ({new[1]} > {kubeadm[1]}). Such an upgrade is not supported')
    elif new > kubeadm:
        skippable.append(f'Specified version to upgrade to "v{target}" is higher than the kubeadm version '
                         f'"v{kubeadm_version}". Upgrade kubeadm first using the tool you used to install kubeadm')
    errors = mandatory + ([] if force else skippable)
    return errors, not mandatory


def _report_policy(errors: list[str], skippable: bool, io: ShellIO) -> int:
    io.err("[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n")
    io.err("".join(f"\t- {e}\n" for e in errors))
    if skippable:
        io.err("\nCan be bypassed if you pass the --force flag\n")
    io.err("To see the stack trace of this error execute with --v=5 or higher\n")
    return 1


def _target(shell: NodeShell, args: list[str], io: ShellIO) -> str | None:
    versions = [a for a in args if parse_version(a)]
    if not versions:
        return shell._installed("kubeadm")
    if not versions[0].startswith("v"):
        io.err(f'[upgrade/version] FATAL: version "{versions[0]}" must start with "v"\n')
        return None
    return versions[0][1:]


# -- plan ----------------------------------------------------------------------------------

async def _plan(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    if not shell.is_control_plane():
        io.err(NO_ADMIN_CONF)
        return 1
    as_json = _output(args) == "json"
    log = io.err if as_json else io.out
    target = _target(shell, args, io)
    if target is None:
        return 1
    cluster_version, kubeadm_version = shell.cluster.version, shell._installed("kubeadm")
    log("[preflight] Running pre-flight checks.\n")
    log('[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n')
    log("[upgrade] Running cluster health checks\n[upgrade] Fetching available versions to upgrade to\n")
    await shell.pause(2)
    log(f"[upgrade/versions] Cluster version: {cluster_version}\n[upgrade/versions] kubeadm version: "
        f"v{kubeadm_version}\n[upgrade/versions] Target version: v{target}\n")
    errors, skippable = policy_errors(cluster_version, kubeadm_version, target, force=False)
    if errors and not skippable:
        return _report_policy(errors, skippable, io)
    rows = _component_rows(shell, target)
    if as_json:
        io.out(json_dump(_plan_json(rows, target)))
    else:
        _print_plan(rows, target, kubeadm_version, io)
    return 0


def _output(args: list[str]) -> str:
    for i, arg in enumerate(args):
        if arg in ("-o", "--output") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(("-o=", "--output=")):
            return arg.split("=", 1)[1]
    return "text"


def _component_rows(shell: NodeShell, target: str) -> list[tuple[str, str, str, str]]:
    """(component, node, current, target) rows: kubelets first, then the control plane."""
    nodes = sorted(shell.cluster.store.list("nodes"), key=lambda n: n["metadata"]["name"])
    rows = [("kubelet", n["metadata"]["name"], n.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""),
             f"v{target}") for n in nodes]
    for node in nodes:
        if CONTROL_PLANE_LABEL in (node["metadata"].get("labels") or {}):
            rows += _static_pod_rows(shell, node["metadata"]["name"], target)
    return rows


def _static_pod_rows(shell: NodeShell, node: str, target: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for component in COMPONENTS[1:]:
        pod = shell.cluster.store.get("pods", "kube-system", f"{component}-{node}")
        image = pod["spec"]["containers"][0]["image"] if pod else f":v{shell.cluster.version}"
        rows.append((component, node, image.rsplit(":", 1)[-1], f"v{target}"))
    return rows


def _plan_json(rows: list[tuple[str, str, str, str]], target: str) -> dict:
    components = [{"name": c, "currentVersion": cur, "newVersion": new, "nodeName": node}
                  for c, node, cur, new in rows if cur != new]
    upgrades = [{"description": f"version in the v{'.'.join(target.split('.')[:2])} series",
                 "components": components}] if components else []
    return {"kind": "UpgradePlan", "apiVersion": "output.kubeadm.k8s.io/v1alpha3", "availableUpgrades": upgrades,
            "configVersions": [
                {"group": "kubeproxy.config.k8s.io", "currentVersion": "v1alpha1", "preferredVersion": "v1alpha1",
                 "manualUpgradeRequired": False},
                {"group": "kubelet.config.k8s.io", "currentVersion": "v1beta1", "preferredVersion": "v1beta1",
                 "manualUpgradeRequired": False}]}


def _print_plan(rows: list[tuple[str, str, str, str]], target: str, kubeadm_version: str, io: ShellIO) -> None:
    if all(cur == new for _, _, cur, new in rows):
        io.out("\nAwesome, you're up-to-date! Enjoy!\n")
        return
    io.out("\nComponents that must be upgraded manually after you have upgraded the control plane with "
           "'kubeadm upgrade apply':\n")
    io.out(_table([("COMPONENT", "NODE", "CURRENT", "TARGET"), *[r for r in rows if r[0] == "kubelet"]]))
    io.out("\nUpgrade to the latest version in the series:\n\n")
    io.out(_table([("COMPONENT", "NODE", "CURRENT", "TARGET"), *[r for r in rows if r[0] != "kubelet"]]))
    io.out(f"\nYou can now apply the upgrade by executing the following command:\n\n\tkubeadm upgrade apply v{target}\n\n")
    if kubeadm_version != target:
        io.out(f"Note: Before you can perform this upgrade, you have to update kubeadm to v{target}.\n\n")
    io.out("_" * 69 + "\n")


def _table(rows: list[tuple[str, ...]]) -> str:
    """Go tabwriter style: columns padded by 3 spaces, minimum width 10."""
    widths = [max(10, max(len(r[i]) for r in rows)) + 3 for i in range(len(rows[0]))]
    return "".join("".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in rows)


# -- apply / node --------------------------------------------------------------------------

async def _apply(shell: NodeShell, args: list[str], io: ShellIO) -> int:
    force = bool({"-f", "--force"} & set(args))
    target = await _apply_preflight(shell, args, io)
    if target is None:
        return 1
    cluster_version, kubeadm_version = shell.cluster.version, shell._installed("kubeadm")
    io.out(f'[upgrade/preflight] You have chosen to upgrade the cluster version to "v{target}"\n'
           f"[upgrade/versions] Cluster version: v{cluster_version}\n[upgrade/versions] kubeadm version: v{kubeadm_version}\n")
    errors, skippable = policy_errors(cluster_version, kubeadm_version, target, force)
    if errors:
        return _report_policy(errors, skippable, io)
    if not ({"-y", "--yes"} & set(args)) and not force:
        # Over SSH there is nobody to answer the prompt: kubeadm reads EOF and gives up.
        io.out("[upgrade] Are you sure you want to proceed? [y/N]: ")
        io.err("won't proceed; the user didn't answer (Y|n) in order to continue\n")
        return 1
    await _upgrade_static_pods(shell, target, io)
    # Only this node's static pods move now; `kubeadm upgrade node` moves the other control planes.
    await shell.call_cluster("set_control_plane_version", target, shell.node)
    io.out("[upgrade/control-plane] The control plane instance for this node was successfully upgraded!\n")
    _apply_epilogue(shell, target, io)
    return 0


async def _apply_preflight(shell: NodeShell, args: list[str], io: ShellIO) -> str | None:
    """admin.conf, the version argument and the health checks; the target version or None."""
    if not shell.is_control_plane():
        io.err(NO_ADMIN_CONF)
        return None
    if not any(parse_version(a) for a in args):
        io.err("[upgrade/version] FATAL: missing one or more required arguments. Required arguments: [version]\n")
        return None
    target = _target(shell, args, io)
    if target is None:
        return None
    io.out('[upgrade] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n'
           "[upgrade] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.\n"
           "[upgrade/preflight] Running preflight checks\n[upgrade] Running cluster health checks\n")
    await shell.pause(2)
    not_ready = _not_ready_control_planes(shell)
    if not_ready:
        io.err("[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n"
               f"\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [{' '.join(not_ready)}]\n"
               "[preflight] If you know what you are doing, you can make a check non-fatal with "
               "`--ignore-preflight-errors=...`\n")
        return None
    return target


def _not_ready_control_planes(shell: NodeShell) -> list[str]:
    names = []
    for node in shell.cluster.store.list("nodes"):
        if CONTROL_PLANE_LABEL not in (node["metadata"].get("labels") or {}):
            continue
        ready = [c for c in node.get("status", {}).get("conditions", []) if c.get("type") == "Ready"]
        if not ready or ready[0].get("status") != "True":
            names.append(node["metadata"]["name"])
    return sorted(names)


async def _upgrade_static_pods(shell: NodeShell, target: str, io: ShellIO) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")
    io.out("[upgrade/preflight] Pulling images required for setting up a Kubernetes cluster\n")
    await shell.pause(3)
    io.out(f'[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version "v{target}" '
           f'(timeout: 5m0s)...\n[upgrade/staticpods] Writing new Static Pod manifests to '
           f'"/etc/kubernetes/tmp/kubeadm-upgraded-manifests2871937465"\n')
    for component in COMPONENTS:
        io.out(f'[upgrade/staticpods] Preparing for "{component}" upgrade\n'
               f'[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/{component}.yaml" and backing '
               f'up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-{stamp}/{component}.yaml"\n'
               "[upgrade/staticpods] Waiting for the kubelet to restart the component\n"
               "[upgrade/staticpods] This can take up to 5m0s\n")
        await shell.pause(4)
        io.out(f'[apiclient] Found 1 Pods for label selector component={component}\n'
               f'[upgrade/staticpods] Component "{component}" upgraded successfully!\n')


def _apply_epilogue(shell: NodeShell, target: str, io: ShellIO) -> None:
    io.out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace\n'
           "[kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the "
           "kubelets in the cluster\n[upgrade/kubelet-config] The kubelet configuration for this node was successfully "
           "upgraded!\n[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client "
           "certificates in the cluster\n")
    others = [n for n in _control_planes(shell) if n != shell.node]
    if others:
        io.out(f"[upgrade/addon] Skipping upgrade of addons because control plane instances [{' '.join(others)}] "
               "have not been upgraded\n")
    else:
        io.out("[addons] Applied essential addon: CoreDNS\n[addons] Applied essential addon: kube-proxy\n")
    io.out(f'\n[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "v{target}".\n\n'
           "[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.\n")


def _control_planes(shell: NodeShell) -> list[str]:
    return sorted(n["metadata"]["name"] for n in shell.cluster.store.list("nodes")
                  if CONTROL_PLANE_LABEL in (n["metadata"].get("labels") or {}))


async def _node(shell: NodeShell, io: ShellIO) -> int:
    cluster_version, kubeadm_version = shell.cluster.version, shell._installed("kubeadm")
    io.out("[upgrade] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...\n"
           "[upgrade] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.\n"
           "[upgrade/preflight] Running pre-flight checks\n")
    await shell.pause(1)
    cluster, kubeadm = parse_version(cluster_version), parse_version(kubeadm_version or "")
    if cluster and kubeadm and kubeadm[:2] < cluster[:2]:
        io.err(f'[upgrade/version] FATAL: the cluster version "v{cluster_version}" is newer than this kubeadm '
               f'("v{kubeadm_version}"); upgrade the kubeadm package first\n')
        return 1
    if shell.is_control_plane():
        await _node_control_plane(shell, cluster_version, io)
    else:
        io.out("[preflight] Skipping prepull. Not a control plane node.\n"
               "[upgrade/control-plane] Skipping phase. Not a control plane node.\n")
    await shell.call_cluster("upgrade_node_config", shell.node)
    io.out("[upgrade] Backing up kubelet config file to /etc/kubernetes/tmp/kubeadm-kubelet-config1573203837/config.yaml\n"
           '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"\n'
           "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!\n")
    if not shell.is_control_plane():
        io.out("[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node.\n")
    io.out("[upgrade] The configuration for this node was successfully upgraded!\n"
           "[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.\n")
    return 0


async def _node_control_plane(shell: NodeShell, cluster_version: str, io: ShellIO) -> None:
    io.out("[upgrade/preflight] Pulling images required for setting up a Kubernetes cluster\n")
    await shell.pause(2)
    io.out(f'[upgrade/control-plane] Upgrading your Static Pod-hosted control plane instance to version '
           f'"v{cluster_version}"...\n')
    for component in COMPONENTS:
        await shell.pause(3)
        io.out(f'[upgrade/staticpods] Component "{component}" upgraded successfully!\n')
    io.out("[upgrade/control-plane] The control plane instance for this node was successfully upgraded!\n")
