# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE API twin: container.googleapis.com/v1 clusters, node pools and operations.

Long-running operations go PENDING -> RUNNING -> DONE on the clock (durations
scaled by the latency knob) and apply their effect when they finish. Bodies are
checked against the official container.v1 discovery document. The errors are
the real API's: 409 already exists, 400 failedPrecondition while another
operation runs on the cluster, 403 GPU quota, 404, 400 invalid payload.

serverConfig answers, per location, what each release channel offers (its
default and valid versions); clusters.create resolves initialClusterVersion
the way the API documents its aliases ("1.X", "1.X.Y", "latest", "" / "-") and
refuses a version the channel does not offer there with GKE's 400, as does a
node pool create for a node version GKE does not offer.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import os
import re
import threading
import time
import uuid

from .core import ApiError, JsonHandler
from .discovery import Validator

# What GKE offers per release channel, as of late 2026 (REGULAR's default moved to 1.35.8-gke.1036000 on
# 2026-09-17, and 1.33 had left REGULAR by July 2026: GKE release notes). A stand-in, in GKE's shape: the
# real lists change every week, which is why the gke_cluster module reads serverConfig rather than assuming.
# Each list is newest first; ROLLOUT holds releases still rolling out, offered only in the regions named.
CHANNELS = {
    "RAPID": {"default": "1.36.3-gke.1104000",
              "valid": ["1.36.4-gke.1052000", "1.36.3-gke.1104000", "1.36.2-gke.1390000", "1.35.9-gke.1185000"]},
    "REGULAR": {"default": "1.35.8-gke.1036000",
                "valid": ["1.35.9-gke.1185000", "1.35.8-gke.1036000", "1.35.7-gke.1240000", "1.34.9-gke.1132000",
                          "1.34.8-gke.1425000"]},
    "STABLE": {"default": "1.34.8-gke.1425000",
               "valid": ["1.34.8-gke.1425000", "1.34.7-gke.1160000", "1.33.9-gke.1205000"]},
    "EXTENDED": {"default": "1.34.8-gke.1425000",
                 "valid": ["1.34.8-gke.1425000", "1.33.9-gke.1205000", "1.33.5-gke.1162000", "1.32.11-gke.1050000"]},
}
# The regions GKE offers and their zones (Google's public region list, late 2026; not every region's zones
# are a, b, c: us-central1 has f, us-east1 and europe-west1 start at b). A stand-in for
# v1beta1 projects.locations.list, which the gke_cluster module reads before it creates anything:
# a location outside it gets GKE's 400 'Location "X" does not exist.' on every call.
REGION_ZONES = {
    "us-central1": "abcf", "us-east1": "bcd", "us-east4": "abc", "us-east5": "abc", "us-south1": "abc",
    "us-west1": "abc", "us-west2": "abc", "us-west3": "abc", "us-west4": "abc",
    "northamerica-northeast1": "abc", "northamerica-northeast2": "abc", "northamerica-south1": "abc",
    "southamerica-east1": "abc", "southamerica-west1": "abc",
    "europe-west1": "bcd", "europe-west2": "abc", "europe-west3": "abc", "europe-west4": "abc",
    "europe-west6": "abc", "europe-west8": "abc", "europe-west9": "abc", "europe-west10": "abc",
    "europe-west12": "abc", "europe-north1": "abc", "europe-north2": "abc", "europe-central2": "abc",
    "europe-southwest1": "abc",
    "asia-east1": "abc", "asia-east2": "abc", "asia-northeast1": "abc", "asia-northeast2": "abc",
    "asia-northeast3": "abc", "asia-south1": "abc", "asia-south2": "abc", "asia-southeast1": "abc",
    "asia-southeast2": "abc", "australia-southeast1": "abc", "australia-southeast2": "abc",
    "me-central1": "abc", "me-central2": "abc", "me-west1": "abc", "africa-south1": "abc",
}
ROLLOUT = {"1.36.4-gke.1052000": ("us-central1", "us-east1"), "1.35.9-gke.1185000": ("us-central1", "us-east1")}
DEFAULT_VERSION = CHANNELS["REGULAR"]["default"]


def _version_key(version):
    numbers = re.findall(r"\d+", version)
    return tuple(int(n) for n in numbers)


def server_config(location):
    """GKE's serverConfig for a location: per channel its default and valid versions, and the versions
    a cluster outside channels may run (validMasterVersions) and its nodes (validNodeVersions)."""
    region = ZONE_RE.sub(r"\1", location)
    not_yet = {v for v, regions in ROLLOUT.items() if region not in regions}
    channels = [{"channel": name, "defaultVersion": spec["default"],
                 "validVersions": [v for v in spec["valid"] if v not in not_yet],
                 "upgradeTargetVersion": spec["default"]} for name, spec in CHANNELS.items()]
    masters = sorted({v for c in channels for v in c["validVersions"]}, key=_version_key, reverse=True)
    return {"defaultClusterVersion": DEFAULT_VERSION, "validMasterVersions": masters,
            "validNodeVersions": masters + ["1.31.14-gke.1039000", "1.30.14-gke.1250000"],
            "defaultImageType": "COS_CONTAINERD",
            "validImageTypes": ["COS_CONTAINERD", "UBUNTU_CONTAINERD", "WINDOWS_LTSC_CONTAINERD"],
            "channels": channels}


def _alias_matches(asked, versions):
    """The versions an alias names, newest first, as the API documents them: "1.X" the highest patch of
    1.X, "1.X.Y" the highest gke.N of 1.X.Y, "1.X.Y-gke.N" exactly that one."""
    if "-gke." in asked:
        return [v for v in versions if v == asked]
    return sorted((v for v in versions if v.startswith(asked + ".") or v.startswith(asked + "-")),
                  key=_version_key, reverse=True)


# Real durations, in seconds, before the latency knob scales them.
DURATIONS = {"CREATE_CLUSTER": 300, "DELETE_CLUSTER": 180, "CREATE_NODE_POOL": 120,
             "DELETE_NODE_POOL": 90, "SET_NODE_POOL_SIZE": 30, "SET_NODE_POOL_MANAGEMENT": 10,
             "UPDATE_CLUSTER": 20, "SET_LABELS": 5}
PENDING_SHARE = 0.05
ZONE_RE = re.compile(r"^([a-z]+-[a-z]+[0-9]+)-([a-z])$")
NAME_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$")
LOCATIONS_RE = re.compile(r"^/v1beta1/projects/(?P<project>[^/]+)/locations$")

PATH_RE = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/(?:locations|zones)/(?P<location>[^/]+)"
    r"(?:/clusters(?:/(?P<cluster>[^/:]+)(?:/nodePools(?:/(?P<pool>[^/:]+))?)?)?"
    r"|/operations(?:/(?P<operation>[^/]+))?|/(?P<config>server[cC]onfig))?(?::(?P<verb>[A-Za-z]+))?$")


def _now_iso(ts=None):
    moment = datetime.datetime.fromtimestamp(ts or time.time(), tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def zones_of(location):
    """The zones a zonal or regional cluster spans: a regional one takes three of its region's zones by
    default (GKE's docs on regional clusters), also in a region that has four."""
    if ZONE_RE.match(location):
        return [location]
    return ["%s-%s" % (location, suffix) for suffix in REGION_ZONES.get(location, "")[:3]]


def location_exists(location):
    """Whether GKE offers the region or zone ("-", every location, is allowed where GKE lists across them)."""
    zone = ZONE_RE.match(location)
    if zone:
        return zone.group(2) in REGION_ZONES.get(zone.group(1), "")
    return location in REGION_ZONES


def require_location(location):
    """GKE's 400 for a location it does not have, on any call that names one."""
    if location != "-" and not location_exists(location):
        raise ApiError(400, 'Location "%s" does not exist.' % location, reason="badRequest")


def label_fingerprint(labels):
    """GKE's labelFingerprint: 8 hex digits that change with every label set."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:8]


def list_locations(project):
    """v1beta1 projects.locations.list: every region and zone, in the API's Location shape."""
    found = []
    for region, suffixes in sorted(REGION_ZONES.items()):
        found.append({"name": "projects/%s/locations/%s" % (project, region), "type": "REGION", "recommended": True})
        found.extend({"name": "projects/%s/locations/%s-%s" % (project, region, s), "type": "ZONE", "recommended": True} for s in suffixes)
    return {"locations": found}


def resolve_version(asked, channel, location):
    """GKE's choice for initialClusterVersion on a release channel, or its 400 (INVALID_ARGUMENT)
    for a version the channel does not offer in the location."""
    config = server_config(location)
    offered = next((c for c in config["channels"] if c["channel"] == channel), None)
    if offered is None:  # no channel: any valid master version
        offered = {"channel": None, "defaultVersion": config["defaultClusterVersion"],
                   "validVersions": config["validMasterVersions"]}
    if asked in (None, "", "-"):
        return offered["defaultVersion"]
    if asked == "latest":
        return sorted(offered["validVersions"], key=_version_key, reverse=True)[0]
    matches = _alias_matches(asked, offered["validVersions"])
    if matches:
        return offered["defaultVersion"] if offered["defaultVersion"] == asked else matches[0]
    if offered["channel"] and _alias_matches(asked, config["validNodeVersions"]):
        raise ApiError(400, 'Master version must be one of "%s" channel supported versions [%s].' % (
            offered["channel"], ", ".join(offered["validVersions"])), reason="badRequest")
    raise ApiError(400, 'Master version "%s" is unsupported.' % asked, reason="badRequest")


def pool_size(pool):
    """Nodes per zone now. GKE's NodePool does not report it (initialNodeCount stays as created);
    the pool's instance group managers do, as targetSize."""
    return int(pool["_size"] if "_size" in pool else pool.get("initialNodeCount") or 0)


IGM_RE = re.compile(r"^/compute/v1/projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)/instanceGroupManagers/(?P<name>[^/]+)$")


def _accelerator_need(pool, zone_count):
    nodes = pool_size(pool) or int((pool.get("autoscaling") or {}).get("minNodeCount") or 0)
    need = {}
    for acc in (pool.get("config") or {}).get("accelerators") or []:
        count = int(acc.get("acceleratorCount") or 0) * nodes * zone_count
        need[acc.get("acceleratorType")] = need.get(acc.get("acceleratorType"), 0) + count
    return need


class GkeState:
    """Clusters and operations of every project, advanced lazily on each request."""

    def __init__(self, knobs, state_path, gpu_quota=None, gpus_all_regions=8, ca_factory=None, services=None,
                 runtime=None):
        self.knobs = knobs
        self.state_path = state_path
        self.gpu_quota = gpu_quota if gpu_quota is not None else {"nvidia-tesla-t4": 4, "nvidia-l4": 4}
        self.gpus_all_regions = gpus_all_regions
        self.ca_factory = ca_factory
        self.services = services
        self.runtime = runtime  # clusters.ClusterRuntime: the clusters' Kubernetes API twins
        self.lock = threading.RLock()
        self.clusters = {}     # (project, location, name) -> cluster
        self.operations = {}   # name -> operation (with private keys _project, _effect...)
        self.validator = Validator("container", "v1")
        self._load()

    # --- persistence ---------------------------------------------------
    def _load(self):
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as handle:
                data = json.load(handle)
            self.clusters = {tuple(k.split("|")): v for k, v in data["clusters"].items()}
            self.operations = data["operations"]

    def _save(self):
        if not self.state_path:
            return
        data = {"clusters": {"|".join(k): v for k, v in self.clusters.items()}, "operations": self.operations}
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.state_path)

    # --- operations ----------------------------------------------------
    def _start(self, project, location, op_type, target, effect, cluster_key):
        now = time.time()
        name = "operation-%d-%s" % (int(now * 1000), uuid.uuid4().hex[:8])
        op = {
            "name": name, "zone": location, "location": location, "operationType": op_type,
            "status": "PENDING", "selfLink": "https://container.googleapis.com/v1/projects/%s/locations/%s/operations/%s"
            % (project, location, name),
            "targetLink": target, "startTime": _now_iso(now),
            "_project": project, "_started": now, "_duration": self.knobs.duration(DURATIONS[op_type]),
            "_effect": effect, "_cluster": list(cluster_key),
        }
        self.operations[name] = op
        return op

    def advance(self):
        """Move every operation along the clock and apply the effects of finished ones."""
        now = time.time()
        changed = False
        for op in sorted(self.operations.values(), key=lambda o: o["_started"]):
            if op["status"] == "DONE":
                continue
            elapsed = now - op["_started"]
            if elapsed >= op["_duration"]:
                self._apply(op)
                op["status"] = "DONE"
                op["endTime"] = _now_iso(op["_started"] + op["_duration"])
                changed = True
            elif elapsed >= op["_duration"] * PENDING_SHARE and op["status"] == "PENDING":
                op["status"] = "RUNNING"
                changed = True
        if changed:
            self._save()

    def _apply(self, op):
        self._apply_effect(op)
        key = tuple(op["_cluster"])
        if self.runtime is None:
            return
        if key in self.clusters and self.clusters[key]["status"] == "RUNNING":
            self.runtime.start(key, self.clusters[key])
            self.runtime.sync_nodes(key, self.clusters[key])
        elif key not in self.clusters:
            self.runtime.stop(key, forget=True)

    def _apply_effect(self, op):
        key = tuple(op["_cluster"])
        cluster = self.clusters.get(key)
        effect = op["_effect"]
        kind = effect["kind"]
        if kind == "cluster_ready" and cluster:
            cluster["status"] = "RUNNING"
            for pool in cluster["nodePools"]:
                pool["status"] = "RUNNING"
        elif kind == "cluster_deleted":
            self.clusters.pop(key, None)
        elif kind == "pool_ready" and cluster:
            self._pool(cluster, effect["pool"])["status"] = "RUNNING"
            cluster["status"] = "RUNNING"
        elif kind == "pool_deleted" and cluster:
            cluster["nodePools"] = [p for p in cluster["nodePools"] if p["name"] != effect["pool"]]
            cluster["status"] = "RUNNING"
        elif kind == "pool_update" and cluster:
            pool = self._pool(cluster, effect["pool"])
            pool.update(effect["fields"])
            pool["status"] = "RUNNING"
            cluster["status"] = "RUNNING"

    def _running_op(self, key):
        for op in self.operations.values():
            if op["status"] != "DONE" and tuple(op["_cluster"]) == key:
                return op
        return None

    # --- helpers -------------------------------------------------------
    def _cluster(self, project, location, name):
        cluster = self.clusters.get((project, location, name))
        if cluster is None:
            raise ApiError(404, "Not found: projects/%s/locations/%s/clusters/%s." % (project, location, name),
                           reason="notFound")
        return cluster

    @staticmethod
    def _pool(cluster, name):
        for pool in cluster["nodePools"]:
            if pool["name"] == name:
                return pool
        raise ApiError(404, "Not found: projects/%s/locations/%s/clusters/%s/nodePools/%s."
                       % (cluster["_project"], cluster["location"], cluster["name"], name), reason="notFound")

    def _busy(self, key, name):
        op = self._running_op(key)
        if op:
            verb = op["operationType"].lower().replace("_", " ")
            raise ApiError(400, "Operation %s is currently %s on cluster %s. Please wait and try again once it is "
                                "done." % (op["name"], verb, name), status="FAILED_PRECONDITION",
                           reason="failedPrecondition")

    def _region_usage(self, project, location, skip_cluster=None):
        """GPUs the project's other clusters in the same region already hold."""
        region = ZONE_RE.sub(r"\1", location)
        need = {}
        for key, cluster in self.clusters.items():
            if key[0] != project or ZONE_RE.sub(r"\1", key[1]) != region or key[2] == skip_cluster:
                continue
            for pool in cluster["nodePools"]:
                for acc_type, count in _accelerator_need(pool, len(zones_of(key[1]))).items():
                    need[acc_type] = need.get(acc_type, 0) + count
        return need

    def _check_quota(self, project, location, pools, existing=(), cluster=None):
        need, zone_count = self._region_usage(project, location, skip_cluster=cluster), len(zones_of(location))
        for pool in list(existing) + list(pools):
            for acc_type, count in _accelerator_need(pool, zone_count).items():
                need[acc_type] = need.get(acc_type, 0) + count
        problems = []
        for acc_type, count in sorted(need.items()):
            quota = self.gpu_quota.get(acc_type, 0)
            metric = "NVIDIA_%s_GPUS" % acc_type.replace("nvidia-tesla-", "").replace("nvidia-", "").upper()
            if count > quota:
                problems.append("insufficient regional quota to satisfy request: resource \"%s\": request requires "
                                "'%.1f' and is short '%.1f'. project has a quota of '%.1f' with '%.1f' available. "
                                "View and manage quotas at https://console.cloud.google.com/iam-admin/quotas?"
                                "usage=USED&project=%s" % (metric, count, count - quota, quota, quota, project))
        total = sum(need.values())
        if total > self.gpus_all_regions:
            problems.append("insufficient project quota to satisfy request: resource \"GPUS_ALL_REGIONS\": request "
                            "requires '%.1f' and is short '%.1f'. project has a quota of '%.1f' with '%.1f' available."
                            % (total, total - self.gpus_all_regions, self.gpus_all_regions, self.gpus_all_regions))
        if len(problems) == 1:
            raise ApiError(403, problems[0][:1].upper() + problems[0][1:] + ".", reason="forbidden")
        if problems:
            raise ApiError(403, "\n".join("(%d) %s" % (i + 1, p) for i, p in enumerate(problems)), reason="forbidden")

    def _new_pool(self, project, location, cluster_name, spec, version):
        pool = copy.deepcopy(spec)
        pool.setdefault("initialNodeCount", 3 if "autoscaling" not in pool else
                        (pool["autoscaling"].get("minNodeCount") or 1))
        config = pool.setdefault("config", {})
        config.setdefault("machineType", "e2-medium")
        config.setdefault("diskSizeGb", 100)
        config.setdefault("imageType", "COS_CONTAINERD")
        config.setdefault("diskType", "pd-balanced")
        pool["initialNodeCount"] = int(pool["initialNodeCount"])
        for acc in config.get("accelerators") or []:
            acc["acceleratorCount"] = str(acc.get("acceleratorCount", "1"))
        pool.setdefault("version", version)
        pool["locations"] = pool.get("locations") or zones_of(location)
        pool["_size"] = pool["initialNodeCount"]
        group = "gke-%s-%s-%s-grp" % (cluster_name[:20], pool["name"][:12], uuid.uuid4().hex[:8])
        pool["instanceGroupUrls"] = ["https://www.googleapis.com/compute/v1/projects/%s/zones/%s/instanceGroupManagers/%s"
                                     % (project, zone, group) for zone in pool["locations"]]
        pool["status"] = "PROVISIONING"
        pool["selfLink"] = "https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s/nodePools/%s" % (
            project, location, cluster_name, pool["name"])
        return pool

    # --- API -----------------------------------------------------------
    def create_cluster(self, project, location, body):
        self.validator.check("CreateClusterRequest", body or {}, "")
        spec = copy.deepcopy((body or {}).get("cluster"))
        if not spec:
            raise ApiError(400, "Cluster.name must be provided.")
        name = spec.get("name") or ""
        if not NAME_RE.match(name):
            raise ApiError(400, "Invalid value for field \"cluster.name\": \"%s\". Must be a match of regex "
                                "'(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)' (only alphanumerics and '-' allowed, must "
                                "start with a letter and end with an alphanumeric, and must be no longer than 40 "
                                "characters)." % name)
        key = (project, location, name)
        if key in self.clusters:
            raise ApiError(409, "Already exists: projects/%s/locations/%s/clusters/%s." % key, reason="alreadyExists")
        if spec.get("nodePools") and spec.get("initialNodeCount"):
            raise ApiError(400, "Cluster.initial_node_count cannot be set when node_pools is set.")
        pools = spec.pop("nodePools", None) or [{"name": "default-pool",
                                                 "initialNodeCount": spec.pop("initialNodeCount", 3),
                                                 "config": spec.pop("nodeConfig", {})}]
        for pool in pools:
            if not pool.get("name"):
                raise ApiError(400, "Node_pool.name must be provided.")
        self._check_quota(project, location, pools, cluster=name)
        channel = (spec.get("releaseChannel") or {}).get("channel", "REGULAR")
        version = resolve_version(spec.get("initialClusterVersion"), channel, location)
        cluster = spec
        cluster.update({
            "location": location, "zone": location, "status": "PROVISIONING",
            "selfLink": "https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s" % key,
            "createTime": _now_iso(), "currentMasterVersion": version, "currentNodeVersion": version,
            "initialClusterVersion": version, "locations": zones_of(location),
            "releaseChannel": {"channel": channel}, "_project": project,
            "labelFingerprint": label_fingerprint(spec.get("resourceLabels") or {}),
            "nodePools": [self._new_pool(project, location, name, p, version) for p in pools],
        })
        if self.ca_factory:
            endpoint, ca_pem = self.ca_factory(key)
            cluster["endpoint"] = endpoint
            cluster["masterAuth"] = {"clusterCaCertificate": base64.b64encode(ca_pem).decode()}
        self.clusters[key] = cluster
        op = self._start(project, location, "CREATE_CLUSTER", cluster["selfLink"], {"kind": "cluster_ready"}, key)
        self._save()
        return op

    def delete_cluster(self, project, location, name):
        key = (project, location, name)
        cluster = self._cluster(*key)
        self._busy(key, name)
        cluster["status"] = "STOPPING"
        op = self._start(project, location, "DELETE_CLUSTER", cluster["selfLink"], {"kind": "cluster_deleted"}, key)
        self._save()
        return op

    def create_pool(self, project, location, name, body):
        self.validator.check("CreateNodePoolRequest", body or {}, "")
        key = (project, location, name)
        cluster = self._cluster(*key)
        spec = (body or {}).get("nodePool") or {}
        if not spec.get("name"):
            raise ApiError(400, "Node_pool.name must be provided.")
        if any(p["name"] == spec["name"] for p in cluster["nodePools"]):
            raise ApiError(409, "Already exists: projects/%s/locations/%s/clusters/%s/nodePools/%s."
                           % (project, location, name, spec["name"]), reason="alreadyExists")
        self._busy(key, name)
        self._check_quota(project, location, [spec], existing=cluster["nodePools"], cluster=name)
        if spec.get("version") and not _alias_matches(spec["version"], server_config(location)["validNodeVersions"]):
            raise ApiError(400, 'Node version "%s" is unsupported.' % spec["version"], reason="badRequest")
        pool = self._new_pool(project, location, name, spec, cluster["currentNodeVersion"])
        cluster["nodePools"].append(pool)
        cluster["status"] = "RECONCILING"
        op = self._start(project, location, "CREATE_NODE_POOL", pool["selfLink"],
                         {"kind": "pool_ready", "pool": pool["name"]}, key)
        self._save()
        return op

    def delete_pool(self, project, location, name, pool_name):
        key = (project, location, name)
        cluster = self._cluster(*key)
        pool = self._pool(cluster, pool_name)
        self._busy(key, name)
        pool["status"] = "STOPPING"
        op = self._start(project, location, "DELETE_NODE_POOL", pool["selfLink"],
                         {"kind": "pool_deleted", "pool": pool_name}, key)
        self._save()
        return op

    def update_pool(self, project, location, name, pool_name, verb, body):
        key = (project, location, name)
        cluster = self._cluster(*key)
        pool = self._pool(cluster, pool_name)
        if verb == "setSize":
            self.validator.check("SetNodePoolSizeRequest", body or {}, "")
            if "nodeCount" not in (body or {}):
                raise ApiError(400, "Node_count must be provided.")
            count = int(body["nodeCount"])
            if count < 0:
                raise ApiError(400, "Invalid value for field \"node_count\": %d. Must be >= 0." % count)
            self._busy(key, name)
            self._check_quota(project, location, [dict(pool, _size=count)],
                              existing=[p for p in cluster["nodePools"] if p["name"] != pool_name], cluster=name)
            fields, op_type = {"_size": count}, "SET_NODE_POOL_SIZE"
        elif verb == "setAutoscaling":
            self.validator.check("SetNodePoolAutoscalingRequest", body or {}, "")
            scaling = (body or {}).get("autoscaling") or {}
            low, high = int(scaling.get("minNodeCount", 0)), int(scaling.get("maxNodeCount", 0))
            if scaling.get("enabled") and high < max(low, 1):
                raise ApiError(400, "Autoscaling max_node_count (%d) must be >= max(min_node_count, 1) (%d)."
                               % (high, max(low, 1)))
            self._busy(key, name)
            fields, op_type = {"autoscaling": scaling}, "SET_NODE_POOL_MANAGEMENT"
        else:
            raise ApiError(404, "Method not found: %s." % verb)
        pool["status"] = "RECONCILING"
        op = self._start(project, location, op_type, pool["selfLink"],
                         {"kind": "pool_update", "pool": pool_name, "fields": fields}, key)
        self._save()
        return op

    def set_labels(self, project, location, name, body):
        """clusters.setResourceLabels: the whole label set, guarded by the fingerprint of the one it replaces
        (GKE's 400 failedPrecondition on a stale or missing fingerprint)."""
        self.validator.check("SetLabelsRequest", body or {}, "")
        key = (project, location, name)
        cluster = self._cluster(*key)
        supplied = (body or {}).get("labelFingerprint") or ""
        expected = cluster.setdefault("labelFingerprint", label_fingerprint(cluster.get("resourceLabels") or {}))
        if supplied != expected:
            raise ApiError(400, "Labels could not be set due to fingerprint mismatch; try again with the proper "
                                "fingerprint: incorrect fingerprint supplied was \"%s\", the expected one is \"%s\"."
                           % (supplied, expected), reason="failedPrecondition",
                           status="FAILED_PRECONDITION")
        self._busy(key, name)
        labels = dict((body or {}).get("resourceLabels") or {})
        cluster.update(resourceLabels=labels, labelFingerprint=label_fingerprint(labels))
        op = self._start(project, location, "SET_LABELS", cluster["selfLink"], {"kind": "labels_set"}, key)
        self._save()
        return op

    def workload_pools(self, project):
        """The Workload Identity pools of the project's clusters (IAM accepts members of these only)."""
        with self.lock:
            return {(c.get("workloadIdentityConfig") or {}).get("workloadPool") for k, c in self.clusters.items()
                    if k[0] == project} - {None}

    @staticmethod
    def with_counts(cluster):
        """Add the fields GKE derives on read: node counts across the cluster's zones."""
        shown = dict(cluster)
        shown["currentNodeCount"] = sum(pool_size(p) * len(p.get("locations") or [1])
                                        for p in cluster["nodePools"] if p.get("status") != "STOPPING")
        return shown

    @staticmethod
    def public(obj):
        if isinstance(obj, dict):
            return {k: GkeState.public(v) for k, v in obj.items() if not k.startswith("_")}
        if isinstance(obj, list):
            return [GkeState.public(v) for v in obj]
        return obj

    def instance_group_manager(self, method, path):
        """compute.instanceGroupManagers.get, for the groups behind node pools (targetSize = pool size)."""
        match = IGM_RE.match(path)
        url = "https://www.googleapis.com" + path
        with self.lock:
            self.advance()
            for cluster in self.clusters.values():
                for pool in cluster["nodePools"]:
                    if method == "GET" and match and url in (pool.get("instanceGroupUrls") or []):
                        return 200, {"kind": "compute#instanceGroupManager", "name": match.group("name"),
                                     "zone": "https://www.googleapis.com/compute/v1/projects/%s/zones/%s"
                                     % (match.group("project"), match.group("zone")),
                                     "targetSize": pool_size(pool), "status": {"isStable": pool["status"] == "RUNNING"}}
        resource = path.split("/compute/v1/", 1)[-1]
        raise ApiError(404, "The resource '%s' was not found" % resource, reason="notFound")

    def route(self, method, path, body):
        if path.startswith("/compute/v1/"):
            return self.instance_group_manager(method, path)
        listing = LOCATIONS_RE.match(path)
        if listing:
            if method != "GET":
                raise ApiError(405, "Method not allowed.")
            if self.services is not None:
                self.services.require(listing.group("project"), "container.googleapis.com")
            return 200, list_locations(listing.group("project"))
        match = PATH_RE.match(path)
        if not match:
            raise ApiError(404, "The requested URL %s was not found on this server." % path)
        g = match.groupdict()
        project, location, cluster, pool, op, verb = (g["project"], g["location"], g["cluster"], g["pool"],
                                                      g["operation"], g["verb"])
        if self.services is not None:
            self.services.require(project, "container.googleapis.com")
        require_location(location)
        if g["config"]:
            if method != "GET":
                raise ApiError(405, "Method not allowed.")
            return 200, server_config(location)
        with self.lock:
            self.advance()
            is_ops = "/operations" in path
            if is_ops:
                if method != "GET":
                    raise ApiError(405, "Method not allowed.")
                if op:
                    found = self.operations.get(op)
                    if not found or found["_project"] != project:
                        raise ApiError(404, "Not found: operation %s." % op, reason="notFound")
                    return 200, self.public(found)
                ops = [self.public(o) for o in self.operations.values()
                       if o["_project"] == project and location in ("-", o["location"])]
                return 200, {"operations": ops}
            if cluster is None:
                if method == "GET":
                    found = [self.public(self.with_counts(c)) for k, c in self.clusters.items()
                             if k[0] == project and location in ("-", k[1])]
                    return 200, {"clusters": found}
                if method == "POST":
                    return 200, self.public(self.create_cluster(project, location, body))
            elif "/nodePools" not in path:
                if method == "GET" and not verb:
                    return 200, self.public(self.with_counts(self._cluster(project, location, cluster)))
                if method == "DELETE" and not verb:
                    return 200, self.public(self.delete_cluster(project, location, cluster))
                if method == "POST" and verb == "setResourceLabels":
                    return 200, self.public(self.set_labels(project, location, cluster, body))
            elif pool is None:
                if method == "GET":
                    return 200, {"nodePools": self.public(self._cluster(project, location, cluster)["nodePools"])}
                if method == "POST":
                    return 200, self.public(self.create_pool(project, location, cluster, body))
            else:
                if method == "GET" and not verb:
                    return 200, self.public(self._pool(self._cluster(project, location, cluster), pool))
                if method == "DELETE" and not verb:
                    return 200, self.public(self.delete_pool(project, location, cluster, pool))
                if method == "POST" and verb:
                    return 200, self.public(self.update_pool(project, location, cluster, pool, verb, body))
        raise ApiError(404, "The requested URL %s was not found on this server." % path)


class GkeHandler(JsonHandler):
    state = None  # set by the server

    def handle_api(self, method, path, query, body):
        return self.state.route(method, path, body)
