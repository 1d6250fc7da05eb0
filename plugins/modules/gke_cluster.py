#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gke_cluster
short_description: A GKE cluster with a system node pool and a GPU node pool, managed idempotently
version_added: "0.2.0"
description:
  - Reads the cluster, compares it with the options, and only then creates it, adds a missing
    node pool, resizes a pool or changes its autoscaling, or sets missing labels, through the GKE REST API
    (container.googleapis.com/v1). A pool's current size comes from the Compute Engine API.
  - Node pool fields whose change recreates every node (machine type, accelerators, disk, image type, spot) and
    cluster settings this module does not update (Workload Identity pool, release channel) are
    reported with the fix; by default the module then fails rather than ignore them.
  - Waits for every operation, riding out "another operation is running" (400 FAILED_PRECONDITION),
    and returns a trail of the operations it waited for.
  - GKE taints GPU node pools with C(nvidia.com/gpu=present:NoSchedule) on its own.
author:
  - kserve_gke contributors (@mlops)
extends_documentation_fragment:
  - mlops.kserve_gke.gcp
options:
  name:
    description: The cluster name.
    type: str
    required: true
  location:
    description:
      - A zone (zonal cluster) or a region (regional cluster, pools span its zones).
      - When the cluster is not found, the module reads GKE's list of locations (C(v1beta1 projects.locations.list))
        and fails, before any write, on one GKE does not offer, naming the region's zones or the nearest regions.
    type: str
    required: true
  state:
    description: V(present) creates or converges the cluster; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  release_channel:
    description: The GKE release channel.
    type: str
    choices: [RAPID, REGULAR, STABLE, EXTENDED]
    default: REGULAR
  cluster_version:
    description:
      - The version the cluster is created with, as GKE takes it (C(1.35) the newest 1.35 release the channel offers,
        C(1.35.8) the newest of that patch, C(1.35.8-gke.1036000) exactly that one, C(latest)); empty or C(default)
        takes the channel's default version. Only used when the cluster is created.
      - Before creating, the module reads the location's C(serverConfig) and fails, before any write, when
        O(release_channel) does not offer the version there, listing what it does offer.
      - On an existing cluster whose minor differs (GKE upgrades clusters on a release channel by itself), the
        module warns.
    type: str
  workload_identity:
    description:
      - Turn on Workload Identity (C(PROJECT.svc.id.goog)) and the GKE metadata server on node pools,
        so predictors read GCS as a Google service account without keys.
    type: bool
    default: true
  labels:
    description:
      - Resource labels on the cluster. On an existing cluster, a label missing or with another value is set
        (C(setResourceLabels), with the fingerprint of the set it replaces); labels not named here are kept,
        since GKE and other tools add their own.
    type: dict
    default: {}
  system_pool:
    description: The node pool for system and control workloads.
    type: dict
    default: {}
    suboptions: &pool
      name:
        description: Node pool name.
        type: str
      machine_type:
        description: Compute Engine machine type.
        type: str
      node_count:
        description:
          - Nodes per zone. Without autoscaling an existing pool is resized to it (C(setSize)); its current
            size is read from the pool's instance group managers, since the GKE API does not report it.
          - With autoscaling the autoscaler owns the size and only its bounds are converged.
        type: int
        default: 1
      autoscaling:
        description: Cluster autoscaler bounds, per zone. These are converged on existing pools.
        type: dict
        suboptions:
          enabled:
            description: Whether the autoscaler manages the pool.
            type: bool
            default: false
          min_nodes:
            description: Lower bound.
            type: int
            default: 0
          max_nodes:
            description: Upper bound.
            type: int
            default: 1
      disk_size_gb:
        description: Boot disk size.
        type: int
        default: 100
      image_type:
        description: Node image.
        type: str
        default: COS_CONTAINERD
      spot:
        description: Use Spot VMs.
        type: bool
        default: false
      labels:
        description: Kubernetes labels on the pool's nodes.
        type: dict
        default: {}
      accelerator_type:
        description: GPU type, for example C(nvidia-tesla-t4) (N1) or C(nvidia-l4) (G2).
        type: str
      accelerator_count:
        description: GPUs per node.
        type: int
        default: 1
      driver_version:
        description:
          - GKE-managed driver install. V(INSTALLATION_DISABLED) leaves it to the driver-installer DaemonSet
            (the nvidia_driver role).
        type: str
        choices: [DEFAULT, LATEST, INSTALLATION_DISABLED]
        default: DEFAULT
  gpu_pool:
    description: The GPU node pool. Set to null for a cluster without GPUs.
    type: dict
    suboptions: *pool
  on_fixed_drift:
    description: What to do when a field differs that this module does not change in place.
    type: str
    choices: [fail, warn]
    default: fail
  wait_timeout:
    description: Seconds to wait for each GKE operation.
    type: int
    default: 2400
  poll_interval:
    description: Longest pause, in seconds, between two reads of an operation.
    type: float
    default: 15
attributes:
  check_mode:
    description: Reads only; returns what would change and the diff.
    support: full
  diff_mode:
    description: Shows the managed fields before and after.
    support: full
"""

EXAMPLES = r"""
- name: GKE | Converge the cluster and its GPU node pool
  mlops.kserve_gke.gke_cluster:
    project: my-ml-project
    location: us-central1-a
    name: kserve-gpu
    system_pool:
      name: system
      machine_type: e2-standard-4
      node_count: 1
    gpu_pool:
      name: gpu
      machine_type: n1-standard-4
      accelerator_type: nvidia-tesla-t4
      accelerator_count: 1
      node_count: 1
      autoscaling: {enabled: true, min_nodes: 0, max_nodes: 2}

- name: GKE | Delete the cluster
  mlops.kserve_gke.gke_cluster:
    project: my-ml-project
    location: us-central1-a
    name: kserve-gpu
    state: absent
"""

RETURN = r"""
cluster:
  description: The managed fields of the cluster after the run (before, in check mode), plus how to reach it.
  returned: state=present
  type: dict
  sample: {"name": "kserve-gpu", "status": "RUNNING", "endpoint": "34.1.2.3", "ca_certificate": "LS0t...",
           "release_channel": "REGULAR", "workload_pool": "my-ml-project.svc.id.goog",
           "node_pools": [{"name": "gpu", "accelerator_type": "nvidia-tesla-t4", "accelerator_count": 1}]}
actions:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: list
  elements: str
  sample: ["create node pool gpu"]
drift:
  description: Fields that differ and that this module does not change in place, each with the fix.
  returned: always
  type: list
  elements: str
operations:
  description: The GKE operations waited for, with their states and durations.
  returned: always
  type: list
  elements: str
  sample: ["CREATE_CLUSTER operation-1: PENDING -> RUNNING -> DONE in 312 s"]
version:
  description: The Kubernetes version the cluster runs (in check mode, the one it would be created with).
  returned: state=present
  type: str
  sample: 1.35.8-gke.1036000
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils import gke
from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import (
    GcpError, GcpSession, Plan, gcp_argument_spec, run_module)

POOL_SPEC = dict(
    name=dict(type="str"),
    machine_type=dict(type="str"),
    node_count=dict(type="int", default=1),
    autoscaling=dict(type="dict", options=dict(
        enabled=dict(type="bool", default=False),
        min_nodes=dict(type="int", default=0),
        max_nodes=dict(type="int", default=1))),
    disk_size_gb=dict(type="int", default=100),
    image_type=dict(type="str", default="COS_CONTAINERD"),
    spot=dict(type="bool", default=False),
    labels=dict(type="dict", default={}),
    accelerator_type=dict(type="str"),
    accelerator_count=dict(type="int", default=1),
    driver_version=dict(type="str", choices=["DEFAULT", "LATEST", "INSTALLATION_DISABLED"], default="DEFAULT"),
)


def argspec():
    spec = gcp_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        location=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        release_channel=dict(type="str", choices=["RAPID", "REGULAR", "STABLE", "EXTENDED"], default="REGULAR"),
        cluster_version=dict(type="str"),
        workload_identity=dict(type="bool", default=True),
        labels=dict(type="dict", default={}),
        system_pool=dict(type="dict", default={}, options=POOL_SPEC),
        gpu_pool=dict(type="dict", options=POOL_SPEC),
        on_fixed_drift=dict(type="str", choices=["fail", "warn"], default="fail"),
        wait_timeout=dict(type="int", default=2400),
        poll_interval=dict(type="float", default=15),
    )
    return spec


def _pool_defaults(params):
    """Fill pool names and machine types the user left out."""
    for key, name, machine in (("system_pool", "system", "e2-standard-4"), ("gpu_pool", "gpu", "n1-standard-4")):
        pool = params.get(key)
        if pool is not None:
            pool["name"] = pool.get("name") or name
            pool["machine_type"] = pool.get("machine_type") or machine
            pool["autoscaling"] = pool.get("autoscaling") or {"enabled": False}


def _wait_until_settled(session, path, waiter, cluster):
    """A cluster left mid-operation by an earlier run: wait until GKE is done with it."""
    started = waiter.clock()
    while cluster and cluster.get("status") in ("PROVISIONING", "RECONCILING", "STOPPING"):
        if waiter.clock() - started > waiter.timeout:
            raise GcpError("Cluster %s stayed %s for %d s. Fix: look at its operations in the console, then re-run."
                           % (cluster["name"], cluster["status"], waiter.timeout))
        waiter.sleep(min(2.0, waiter.poll_interval))
        cluster = session.call("GET", path, missing_ok=True, what="Reading cluster %s" % cluster["name"])
    if cluster and cluster.get("status") in ("ERROR", "DEGRADED"):
        raise GcpError("Cluster %s is %s: %s. Fix: repair or delete it in Google Cloud, then re-run."
                       % (cluster["name"], cluster["status"], cluster.get("statusMessage") or "no status message"))
    return cluster


def _read_sizes(compute, desired, cluster):
    """Nodes per zone of the pools whose size is converged, from their instance group managers.

    Also noted on the cluster's pools (key _size), so the diff shows the current size.
    """
    sizes = {}
    for name, paths in gke.size_reads(desired, cluster).items():
        targets = [int(compute.call("GET", p, what="Reading the size of node pool %s" % name).get("targetSize") or 0)
                   for p in paths]
        if targets:
            sizes[name] = max(targets)
    for pool in cluster.get("nodePools") or []:
        if pool["name"] in sizes:
            pool["_size"] = sizes[pool["name"]]
    return sizes


def _label_changes(action):
    if action["kind"] != "set_labels":
        return ""
    before, after = action["from"], action["body"]["resourceLabels"]
    return ", ".join("%s: %s -> %s" % (k, before.get(k, "(none)"), v) for k, v in sorted(after.items())
                     if before.get(k) != v)


def _check_location(session, project, location):
    """Refuse, before any write, a location GKE does not list."""
    listing = session.call("GET", gke.locations_path(project), what="Reading the locations GKE offers")
    problem = gke.location_problem(location, listing)
    if problem:
        raise GcpError("Nothing was changed: " + problem, field="location")


def run(params, check_mode, environ):
    params = dict(params)
    _pool_defaults(params)
    errors = gke.check_options(params)
    if errors:
        raise GcpError("Invalid options, nothing was changed:\n- " + "\n- ".join(errors))
    session = GcpSession(params, "container", environ)
    project = session.project
    if not project:
        raise GcpError("project is not set. Fix: set project (or GCP_PROJECT).", field="project")
    path = gke.cluster_path(project, params["location"], params["name"])
    waiter = gke.OperationWaiter(session, project, params["location"], params["wait_timeout"],
                                 params["poll_interval"])
    what = "Reading cluster %s" % params["name"]
    try:
        found = session.call("GET", path, missing_ok=True, what=what)
    except GcpError as exc:
        if exc.status == 400:  # GKE's answer for a location it does not have
            _check_location(session, project, params["location"])
        raise
    if found is None:
        _check_location(session, project, params["location"])
    current = _wait_until_settled(session, path, waiter, found)
    result = dict(drift=[], operations=waiter.trail)

    if params["state"] == "absent":
        plan = Plan(check_mode, gke.summary(current))
        if current:
            plan.add("delete cluster %s" % params["name"], lambda: waiter.wait(
                waiter.call_when_free("DELETE", path, None, "Deleting cluster %s" % params["name"])))
            plan.after = {}
        plan.apply()
        return plan.result(**result)

    desired = gke.cluster_body(params, project)
    if current is None:
        config = session.call("GET", "v1/projects/%s/locations/%s/serverConfig" % (project, params["location"]),
                              what="Reading the versions GKE offers in %s" % params["location"])
        version, errors = gke.check_version(config, params["release_channel"], params["cluster_version"],
                                            params["location"])
        if errors:
            raise GcpError("Cluster %s was not created: %s" % (params["name"], " ".join(errors)),
                           field="release_channel" if errors[0].startswith("release_channel") else "cluster_version")
        result["version"] = version
        plan = Plan(check_mode, {})
        plan.add("create cluster %s (Kubernetes %s) with node pools %s" % (
            params["name"], version, ", ".join(p["name"] for p in desired["nodePools"])),
            lambda: waiter.wait(session.call("POST", gke.cluster_path(project, params["location"]),
                                             body={"cluster": desired}, what="Creating cluster %s" % params["name"])),
            **gke.summary(desired))
        plan.apply()
        if check_mode:
            return plan.result(cluster=gke.summary(desired), **result)
    else:
        result["version"] = current.get("currentMasterVersion")
        asked = params["cluster_version"]
        if asked and asked not in ("default", "latest") and result["version"] and \
                not gke.version_matches(asked, [result["version"]]) and \
                not gke.version_matches(".".join(asked.split(".")[:2]), [result["version"]]):
            result["warnings_found"] = ["Cluster %s runs Kubernetes %s, not cluster_version %s: GKE upgrades clusters on "
                                        "a release channel by itself, and cluster_version only applies when the "
                                        "cluster is created." % (params["name"], result["version"], asked)]
        compute = GcpSession(params, "compute", environ)
        actions, drift = gke.plan(desired, current, _read_sizes(compute, desired, current))
        result["drift"] = drift
        result["warnings_found"] = drift + result.get("warnings_found", [])
        if drift and params["on_fixed_drift"] == "fail":
            raise GcpError("Cluster %s differs in fields this module does not change in place; nothing was changed:"
                           "\n- %s" % (params["name"], "\n- ".join(drift)), field="on_fixed_drift")
        plan = Plan(check_mode, gke.summary(current))
        for action in actions:
            label, target = _action(action, path)
            plan.add(label, lambda label=label, target=target, body=action["body"]: waiter.wait(
                waiter.call_when_free("POST", target, body, label)))
        plan.after = gke.summary(gke.apply_actions(current, actions))
        plan.apply()
        if check_mode or not actions:
            return plan.result(cluster=dict(gke.summary(current), endpoint=current.get("endpoint"),
                                            ca_certificate=gke.dig(current, "masterAuth.clusterCaCertificate")),
                               **result)
    final = session.call("GET", path, what=what)
    result["version"] = final.get("currentMasterVersion")
    if current is not None:
        _read_sizes(GcpSession(params, "compute", environ), desired, final)
    return plan.result(cluster=dict(gke.summary(final), endpoint=final.get("endpoint"),
                                    ca_certificate=gke.dig(final, "masterAuth.clusterCaCertificate")), **result)


def _action(action, path):
    """(label, URL) of an in-place update that gke.plan decided on."""
    label = {"set_labels": "set the cluster labels (%(changes)s)",
             "create_pool": "create node pool %(pool)s",
             "set_autoscaling": "set the autoscaling of node pool %(pool)s",
             "set_size": "resize node pool %(pool)s from %(from)s to %(to)s nodes per zone"}[action["kind"]] \
        % dict(action, to=action["body"].get("nodeCount"), changes=_label_changes(action))
    if action["kind"] == "set_labels":
        return label, path + ":setResourceLabels"
    if action["kind"] == "create_pool":
        return label, path + "/nodePools"
    verb = "setAutoscaling" if action["kind"] == "set_autoscaling" else "setSize"
    return label, "%s/nodePools/%s:%s" % (path, action["pool"], verb)


def main():
    run_module(argspec(), run)


if __name__ == "__main__":
    main()
