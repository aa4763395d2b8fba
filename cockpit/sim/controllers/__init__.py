"""The set of simulated controllers, in the order their store handlers run."""

from __future__ import annotations

import asyncio


def build(cluster) -> list:
    """Instantiate every controller for ``cluster``."""
    from cockpit.sim.controllers.bootstrap import Bootstrap
    from cockpit.sim.controllers.cronjob import CronJobController
    from cockpit.sim.controllers.daemonset import DaemonSetController
    from cockpit.sim.controllers.deployment import DeploymentController
    from cockpit.sim.controllers.disruption import DisruptionController
    from cockpit.sim.controllers.endpoints import EndpointsController
    from cockpit.sim.controllers.eventmirror import EventMirror
    from cockpit.sim.controllers.gc import ChurnGenerator, GarbageCollector
    from cockpit.sim.controllers.nodes import CordonTaints, NodeLifecycle
    from cockpit.sim.controllers.replicaset import ReplicaSetController
    from cockpit.sim.controllers.kubelet import Kubelet
    from cockpit.sim.controllers.job import JobController
    from cockpit.sim.controllers.namespace import NamespaceController
    from cockpit.sim.controllers.serviceaccounts import ServiceAccountsController
    from cockpit.sim.controllers.statefulset import StatefulSetController
    from cockpit.sim.controllers.scheduler import Scheduler

    return [GarbageCollector(cluster), DeploymentController(cluster), ReplicaSetController(cluster),
            DaemonSetController(cluster), Scheduler(cluster), Kubelet(cluster), EndpointsController(cluster),
            DisruptionController(cluster), CordonTaints(cluster), NodeLifecycle(cluster),
            NamespaceController(cluster), JobController(cluster), CronJobController(cluster),
            StatefulSetController(cluster), ServiceAccountsController(cluster), EventMirror(cluster),
            Bootstrap(cluster), ChurnGenerator(cluster)]


def start_tasks(cluster) -> list[asyncio.Task]:
    """One task per controller loop."""
    return [asyncio.ensure_future(ctl.run()) for ctl in cluster.controllers]


def idle(cluster) -> bool:
    """True when no work-queue controller has pending keys."""
    return all(getattr(ctl, "pending", lambda: 0)() == 0 for ctl in cluster.controllers)
