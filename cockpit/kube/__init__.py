"""Kubernetes I/O for the cockpit (never imports Textual).

* :mod:`cockpit.kube.config`: ``load_cluster_config(kubeconfig, context) -> ClusterConfig``
  through the official client's kubeconfig loader (KUBECONFIG lists, exec plugins, certs,
  in-cluster fallback); one-line UsageError / ConnectionProblem on failure.
* :mod:`cockpit.kube.client`: ``KubeClient`` on aiohttp, raw JSON in and out (get/list/create/
  replace/patch/delete/watch/version/has_resource).
* :mod:`cockpit.kube.errors`: ``ApiError(status, reason, message, body)`` and its subclasses
  (Unauthorized, Forbidden, NotFound, Conflict, Gone, TooManyRequests), Unreachable, TlsProblem.
* :mod:`cockpit.kube.paths`: ``path_for(kind_plural, namespace, name, subresource)``.
* :mod:`cockpit.kube.store` / :mod:`cockpit.kube.informers`: ``Store`` and ``ClusterCache``
  (list+watch per kind into slim records from :mod:`cockpit.domain.records`).
* :mod:`cockpit.kube.bench`: ``python -m cockpit.kube.bench`` decode timings.
"""
