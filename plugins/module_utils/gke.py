# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE clusters as plain data: the request to send, what differs, what to do.

Only the fields this collection manages are compared; everything GKE adds on
its own (defaults, status, versions) is left alone. The functions here make
no calls: gke_cluster's module does the I/O.
"""

from __future__ import annotations

import difflib
import re
import time

from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import GcpError

ZONE_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"

# Node pool fields this module does not change in place: changing them recreates every node.
POOL_FIXED = (
    ("config.machineType", "machine type"),
    ("config.diskSizeGb", "disk size"),
    ("config.imageType", "image type"),
    ("config.spot", "spot"),
    ("config.accelerators", "accelerators"),
    ("config.workloadMetadataConfig.mode", "workload metadata mode"),
)
CLUSTER_FIXED = (
    ("workloadIdentityConfig.workloadPool", "Workload Identity pool",
     "gcloud container clusters update NAME --workload-pool=PROJECT.svc.id.goog"),
    ("releaseChannel.channel", "release channel",
     "gcloud container clusters update NAME --release-channel=CHANNEL"),
)


def dig(data, dotted):
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def is_zone(location):
    return bool(ZONE_RE.match(location))


def locations_path(project):
    """GKE's list of the regions and zones it offers (only in v1beta1; the v1 API has no list)."""
    return "v1beta1/projects/%s/locations" % project


def location_problem(location, listing):
    """None when GKE lists the location, else what is wrong and the fix, naming the option.

    listing: the answer of projects.locations.list; a Location's name may be bare or projects/P/locations/NAME.
    """
    names = {str(item.get("name", "")).rsplit("/", 1)[-1] for item in (listing or {}).get("locations") or []}
    if location in names:
        return None
    region = location.rsplit("-", 1)[0] if is_zone(location) else location
    zones = sorted(n for n in names if is_zone(n) and n.rsplit("-", 1)[0] == region)
    if zones:
        fix = "use the region %s (a regional cluster) or one of its zones: %s" % (region, ", ".join(zones))
    else:
        near = difflib.get_close_matches(region, sorted(n for n in names if not is_zone(n)), n=3, cutoff=0.6)
        fix = ("did you mean %s? " % " or ".join(near) if near else "") + \
            "use a region GKE offers, e.g. us-central1 (the list: https://cloud.google.com/compute/docs/regions-zones)"
    return "location: %s is not a region or zone that GKE offers. Fix: %s." % (location, fix)


def labels_action(desired, actual):
    """The setResourceLabels action that gives the cluster the desired labels, or None.

    Labels not named in desired are kept (GKE and other tools add their own); setResourceLabels replaces the
    whole set, so the body carries them too, with the fingerprint of the set it replaces.
    """
    want = {str(k): str(v) for k, v in (desired.get("resourceLabels") or {}).items()}
    have = dict(actual.get("resourceLabels") or {})
    if all(have.get(k) == v for k, v in want.items()):
        return None
    return {"kind": "set_labels", "pool": None, "from": have,
            "body": {"resourceLabels": dict(have, **want), "labelFingerprint": actual.get("labelFingerprint", "")}}


def cluster_path(project, location, name=None):
    path = "v1/projects/%s/locations/%s/clusters" % (project, location)
    return path + ("/" + name if name else "")


def pool_body(pool, workload_identity):
    """A NodePool resource for one pool option (system_pool or gpu_pool)."""
    config = {"machineType": pool["machine_type"], "diskSizeGb": pool["disk_size_gb"],
              "imageType": pool["image_type"], "oauthScopes": [CLOUD_PLATFORM]}
    if pool.get("spot"):
        config["spot"] = True
    if pool.get("labels"):
        config["labels"] = dict(pool["labels"])
    if workload_identity:
        config["workloadMetadataConfig"] = {"mode": "GKE_METADATA"}
    if pool.get("accelerator_type"):
        config["accelerators"] = [{
            "acceleratorCount": str(pool["accelerator_count"]),
            "acceleratorType": pool["accelerator_type"],
            "gpuDriverInstallationConfig": {"gpuDriverVersion": pool["driver_version"]},
        }]
    body = {"name": pool["name"], "initialNodeCount": pool["node_count"], "config": config}
    scaling = pool.get("autoscaling") or {}
    if scaling.get("enabled"):
        body["autoscaling"] = {"enabled": True, "minNodeCount": scaling["min_nodes"],
                               "maxNodeCount": scaling["max_nodes"]}
    return body


def cluster_body(params, project):
    """The Cluster resource for a create call, from the module's options."""
    pools = [p for p in (params.get("system_pool"), params.get("gpu_pool")) if p]
    wid = params.get("workload_identity", True)
    cluster = {
        "name": params["name"],
        "releaseChannel": {"channel": params["release_channel"]},
        "nodePools": [pool_body(p, wid) for p in pools],
    }
    if params.get("cluster_version"):
        cluster["initialClusterVersion"] = params["cluster_version"]
    if wid:
        cluster["workloadIdentityConfig"] = {"workloadPool": "%s.svc.id.goog" % project}
    if params.get("labels"):
        cluster["resourceLabels"] = dict(params["labels"])
    return cluster


def _version_key(version):
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _minor(version):
    return ".".join(version.split(".")[:2])


def version_matches(asked, versions):
    """The versions an alias names, newest first, as the GKE API documents its aliases: "1.X" any patch of 1.X,
    "1.X.Y" any gke.N of 1.X.Y, "1.X.Y-gke.N" exactly that one, "latest" the newest."""
    if asked == "latest":
        return sorted(versions, key=_version_key, reverse=True)[:1]
    if "-gke." in asked:
        return [v for v in versions if v == asked]
    return sorted((v for v in versions if v.startswith(asked + ".") or v.startswith(asked + "-")),
                  key=_version_key, reverse=True)


def check_version(server_config, channel, asked, location):
    """(the version GKE will create the cluster with, errors) for cluster_version on release_channel, from the
    location's serverConfig: the channel must offer it there, or GKE refuses the create with 400."""
    channels = {c.get("channel"): c for c in server_config.get("channels") or []}
    offered = channels.get(channel)
    if offered is None:
        return None, ["release_channel %s: GKE offers no such channel in %s (it offers %s). Fix: set release_channel "
                      "to one of them." % (channel, location, ", ".join(sorted(channels)) or "none")]
    valid = offered.get("validVersions") or []
    default = offered.get("defaultVersion")
    if asked in (None, "", "-", "default"):
        return default, []
    matches = version_matches(asked, valid)
    if matches:
        return (default if default == asked else matches[0]), []
    listed = ", ".join("%s%s" % (v, " (default)" if v == default else "") for v in valid)
    minors = sorted({_minor(v) for v in valid}, key=_version_key, reverse=True)
    elsewhere = sorted(name for name, c in channels.items()
                       if name != channel and version_matches(asked, c.get("validVersions") or []))
    fix = "set cluster_version to one of the minors it offers (%s), or to default" % ", ".join(minors)
    if elsewhere:
        fix += ", or set release_channel to %s, which offer%s %s there" % (
            " or ".join(elsewhere), "s" if len(elsewhere) == 1 else "", asked)
    return None, ["cluster_version %s is not offered by GKE's %s release channel in %s, so GKE would refuse to "
                  "create the cluster. The channel offers %s. Fix: %s." % (asked, channel, location, listed, fix)]


def _norm(value):
    """Compare the way GKE stores values: int64 as strings, empty as absent."""
    if isinstance(value, bool) or value is None:
        return value or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return [_norm(v) for v in value] or None
    if isinstance(value, dict):
        normed = {k: _norm(v) for k, v in value.items()}
        return {k: v for k, v in normed.items() if v is not None} or None
    return value


def _same(desired, actual):
    """True when every field set in desired has that value in actual."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(_same(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(actual, list) and len(desired) == len(actual)
                and all(_same(d, a) for d, a in zip(desired, actual)))
    return _norm(desired) == _norm(actual)


def _autoscaling_of(pool):
    scaling = pool.get("autoscaling") or {}
    if not scaling.get("enabled"):
        return {"enabled": False}
    return {"enabled": True, "minNodeCount": int(scaling.get("minNodeCount") or 0),
            "maxNodeCount": int(scaling.get("maxNodeCount") or 0)}


def plan(desired, actual, sizes=None):
    """Compare a desired Cluster with GKE's; return (actions, fixed_drift).

    sizes: {pool name: nodes per zone now} for pools without autoscaling (GKE's
    NodePool does not report it; its instance group managers do).
    actions: dicts {"kind": set_labels|create_pool|set_autoscaling|set_size, "pool": name, "body": ...},
    each an update GKE can make in place. fixed_drift: readable lines for fields
    that differ and that this module will not change in place, each with the fix.
    """
    actions, drift = [], []
    labels = labels_action(desired, actual)
    if labels:
        actions.append(labels)
    for field, label, fix in CLUSTER_FIXED:
        want = dig(desired, field)
        if want is not None and not _same(want, dig(actual, field)):
            drift.append("cluster %s: %s is %r, wanted %r. Fix: %s" % (
                actual.get("name"), label, dig(actual, field), want,
                fix.replace("NAME", actual.get("name", "NAME")).replace(
                    "PROJECT.svc.id.goog", str(want))))
    current = {p["name"]: p for p in actual.get("nodePools") or []}
    for pool in desired.get("nodePools") or []:
        have = current.get(pool["name"])
        if have is None:
            actions.append({"kind": "create_pool", "pool": pool["name"], "body": {"nodePool": pool}})
            continue
        for field, label in POOL_FIXED:
            want = dig(pool, field)
            if want is not None and not _same(want, dig(have, field)):
                drift.append("node pool %s: %s is %r, wanted %r. This module does not change it in place (every "
                             "node would be recreated). Fix: delete the node pool (gcloud container node-pools delete %s --cluster %s) and re-run, or set "
                             "the option back." % (pool["name"], label, dig(have, field), want, pool["name"],
                                                   actual.get("name")))
        want_scaling = _autoscaling_of(pool)
        if want_scaling != _autoscaling_of(have):
            actions.append({"kind": "set_autoscaling", "pool": pool["name"], "body": {"autoscaling": want_scaling}})
        size = (sizes or {}).get(pool["name"])
        if not want_scaling["enabled"] and size is not None and size != int(pool["initialNodeCount"]):
            actions.append({"kind": "set_size", "pool": pool["name"],
                            "body": {"nodeCount": int(pool["initialNodeCount"])}, "from": size})
    return actions, drift


def size_reads(desired, actual):
    """{pool name: [compute API paths of its instance group managers]} for the pools whose size is converged."""
    current = {p["name"]: p for p in actual.get("nodePools") or []}
    reads = {}
    for pool in desired.get("nodePools") or []:
        have = current.get(pool["name"])
        if have and not (pool.get("autoscaling") or {}).get("enabled"):
            reads[pool["name"]] = ["compute/v1/" + url.split("/compute/v1/", 1)[1]
                                   for url in have.get("instanceGroupUrls") or [] if "/compute/v1/" in url]
    return reads


def summary(cluster):
    """The fields worth showing in a diff and returning to the playbook.

    A pool's node_count is its current size per zone when that was read (key _size), else as created.
    """
    if not cluster:
        return {}
    pools = []
    for pool in cluster.get("nodePools") or []:
        config = pool.get("config") or {}
        accelerators = config.get("accelerators") or []
        scaling = _autoscaling_of(pool)
        pools.append({
            "name": pool.get("name"), "machine_type": config.get("machineType"),
            "node_count": int(pool.get("_size", pool.get("initialNodeCount")) or 0),
            "autoscaling": {"enabled": scaling["enabled"], "min_nodes": scaling.get("minNodeCount"),
                            "max_nodes": scaling.get("maxNodeCount")},
            "accelerator_type": accelerators[0].get("acceleratorType") if accelerators else None,
            "accelerator_count": int(accelerators[0].get("acceleratorCount") or 0) if accelerators else 0,
            "driver_version": dig(accelerators[0], "gpuDriverInstallationConfig.gpuDriverVersion")
            if accelerators else None,
            "spot": bool(config.get("spot")),
            "status": pool.get("status"),
        })
    return {
        "name": cluster.get("name"),
        "status": cluster.get("status"),
        "release_channel": dig(cluster, "releaseChannel.channel"),
        "workload_pool": dig(cluster, "workloadIdentityConfig.workloadPool"),
        "labels": cluster.get("resourceLabels") or {},
        "node_pools": pools,
    }


def apply_actions(cluster, actions):
    """The cluster as it will be once the actions are done (for check mode and diff)."""
    after = dict(cluster)
    pools = [dict(p) for p in cluster.get("nodePools") or []]
    for action in actions:
        if action["kind"] == "set_labels":
            after["resourceLabels"] = action["body"]["resourceLabels"]
        elif action["kind"] == "create_pool":
            pools.append(action["body"]["nodePool"])
        else:
            for pool in pools:
                if pool["name"] == action["pool"] and action["kind"] == "set_autoscaling":
                    pool["autoscaling"] = action["body"]["autoscaling"]
                elif pool["name"] == action["pool"]:
                    pool["_size"] = action["body"]["nodeCount"]
    after["nodePools"] = pools
    return after


def check_options(params):
    """Problems with the options, each naming the option and the fix (before any call)."""
    errors = []
    for key in ("system_pool", "gpu_pool"):
        pool = params.get(key)
        if not pool:
            continue
        if pool.get("node_count", 0) < 0:
            errors.append("%s.node_count must be 0 or more." % key)
        scaling = pool.get("autoscaling") or {}
        if scaling.get("enabled") and scaling.get("max_nodes", 0) < max(scaling.get("min_nodes", 0), 1):
            errors.append("%s.autoscaling.max_nodes must be at least max(min_nodes, 1). Fix: raise max_nodes."
                          % key)
        if pool.get("accelerator_type") and pool.get("accelerator_count", 0) < 1:
            errors.append("%s.accelerator_count must be 1 or more with accelerator_type %s. Fix: set it to 1, or "
                          "leave accelerator_type unset." % (key, pool["accelerator_type"]))
    gpu = params.get("gpu_pool")
    if gpu and not gpu.get("accelerator_type"):
        errors.append("gpu_pool.accelerator_type is required. Fix: set it (nvidia-tesla-t4 on N1, nvidia-l4 on G2) "
                      "or set gpu_pool to null for a cluster without GPUs.")
    names = [p["name"] for p in (params.get("system_pool"), gpu) if p]
    if len(names) != len(set(names)):
        errors.append("system_pool.name and gpu_pool.name must differ.")
    return errors


class OperationWaiter:
    """Polls GKE operations to DONE, keeping a readable trail of what happened."""

    def __init__(self, session, project, location, timeout, poll_interval, clock=time.monotonic, sleep=time.sleep):
        self.session, self.project, self.location = session, project, location
        self.timeout, self.poll_interval = timeout, poll_interval
        self.clock, self.sleep = clock, sleep
        self.trail = []

    def wait(self, operation):
        name = operation["name"]
        started = self.clock()
        states, delay = [operation.get("status")], min(1.0, self.poll_interval)
        path = "v1/projects/%s/locations/%s/operations/%s" % (self.project, self.location, name)
        while operation.get("status") != "DONE":
            if self.clock() - started > self.timeout:
                self.trail.append("%s %s: still %s after %d s"
                                  % (operation.get("operationType"), name, operation.get("status"), self.timeout))
                raise GcpError("Timed out after %d s waiting for GKE operation %s (%s). It goes on in Google Cloud; "
                               "re-run later, or raise wait_timeout." % (self.timeout, name,
                                                                         operation.get("operationType")))
            self.sleep(delay)
            delay = min(delay * 1.5, self.poll_interval)
            operation = self.session.call("GET", path, what="Reading GKE operation %s" % name)
            if operation.get("status") != states[-1]:
                states.append(operation.get("status"))
        self.trail.append("%s %s: %s in %.0f s" % (operation.get("operationType"), name, " -> ".join(states),
                                                   self.clock() - started))
        error = operation.get("error") or {}
        if error.get("message") or operation.get("statusMessage"):
            raise GcpError("GKE operation %s (%s) failed: %s" % (name, operation.get("operationType"),
                                                                 error.get("message") or operation["statusMessage"]))
        return operation

    def call_when_free(self, method, path, body, what):
        """Start an operation, waiting out 'another operation is running' (400 FAILED_PRECONDITION)."""
        started = self.clock()
        delay = min(2.0, self.poll_interval)
        while True:
            try:
                return self.session.call(method, path, body=body, what=what)
            except GcpError as exc:
                if exc.reason not in ("FAILED_PRECONDITION", "failedPrecondition") or \
                        self.clock() - started > self.timeout:
                    raise
                self.trail.append("%s: cluster busy, retrying in %.0f s" % (what, delay))
                self.sleep(delay)
                delay = min(delay * 1.5, self.poll_interval)
