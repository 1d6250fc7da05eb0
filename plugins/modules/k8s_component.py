#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_component
short_description: Install, converge or remove a component from its release files, and wait until it is ready
version_added: "0.4.0"
description:
  - Reads a component's release files once (by their path under C(https://github.com/), from a mirror with
    GitHub's layout, or from a local directory), checks each against its sha256 in O(checksums), and adds
    O(definitions) (objects rendered elsewhere, for example by C(helm template)).
  - Keeps the objects O(include) selects and O(exclude) does not.
  - Applies in one run what a component needs, in order - Namespaces and CRDs, then waits until the CRDs are
    C(Established), then the rest with webhook configurations last - each object first as a server-side dry run,
    and for real only when the dry run's answer differs from the cluster's copy. A converged cluster receives
    no write.
  - Then waits, within one O(wait_timeout), for every CRD C(Established), every Deployment and DaemonSet
    available with its current spec, every Service that a webhook or conversion calls to have ready endpoints,
    and every LoadBalancer Service to have an address.
  - When something is not ready in time, the failure says which piece, why (the scheduler's reason for a
    Pending Pod with what it asks and what the nodes have free, a crash loop's last log lines, an image that
    cannot be pulled, a webhook without endpoints, a CRD name conflict, a load balancer without address) and
    the fix; the same findings are returned in RV(diagnosis).
  - With O(state=absent) it removes the same objects in reverse - webhook configurations first, the Namespaces
    last - skipping what is gone, and waits until they are gone; a second run changes nothing.
  - Requests the API server answers with 429 or 5xx, and dropped connections, are retried with backoff (and
    Retry-After).
author:
  - kserve_gke contributors (@mlops)
requirements:
  - kubernetes (the Python client, as for kubernetes.core)
  - PyYAML
options:
  name:
    description: The component, for messages, for example C(cert-manager 1.21.2).
    type: str
    required: true
  state:
    description: V(present) applies and waits; V(absent) removes.
    type: str
    choices: [present, absent]
    default: present
  release_files:
    description: Release files by their path under C(https://github.com/), applied in this order.
    type: list
    elements: str
    default: []
  checksums:
    description: The sha256 each release file must have, by its path (the collection's pins with the inventory's
      C(kserve_gke_checksums) over them, as C(lookup('mlops.kserve_gke.pinned', 'checksums')) gives them); a file
      without an entry is not checked, and its sha256 is returned.
    type: dict
    default: {}
  definitions:
    description: Objects to apply after those of the release files.
    type: list
    elements: dict
    default: []
  include:
    description: Keep only the objects that match one of these rules. A rule has C(kind), C(name), C(namespace)
      and C(file), each optional, each a shell pattern; C(name) may be a list of them (an empty list is any name);
      C(file) limits the rule to the objects of the release files it matches (V(definitions) for O(definitions)),
      whose other objects are then kept only when they match one of the rules that concern them. A rule that
      matches no object stops the module before any request, listing the names of that kind there are.
    type: list
    elements: dict
    default: []
  exclude:
    description: Drop the objects that match one of these rules (written as for O(include)).
    type: list
    elements: dict
    default: []
  namespace:
    description: The namespace the release files install into; the module stops before any request when one of
      their namespaced objects is elsewhere.
    type: str
  json_config:
    description: Settings kept as JSON documents under the keys of a ConfigMap of the release (KServe's
      C(inferenceservice-config)), changed field by field before the apply - server-side apply owns a key as a
      whole string, so upstream's other fields are kept this way. A field set to null is removed.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The ConfigMap's namespace.
        type: str
        required: true
      name:
        description: The ConfigMap's name.
        type: str
        required: true
      overrides:
        description: "The fields to set, by key, for example C({deploy: {defaultDeploymentMode: Standard}})."
        type: dict
        required: true
  requires:
    description: CRDs that something installed before this component brings, checked before any write (known
      failure 2 - objects of a kind no API serves - would otherwise stop the apply half-way). Not in check mode,
      where the runs before this one created nothing, so a missing CRD is a warning there.
    type: list
    elements: dict
    default: []
    suboptions:
      crd:
        description: The CRD's name, for example C(certificates.cert-manager.io).
        type: str
        required: true
      what:
        description: What brings it, for the message, for example C(cert-manager).
        type: str
  requires_fix:
    description: The fix to tell the user when a CRD of O(requires) is missing.
    type: str
  admits:
    description: Objects the component's webhooks must admit once it is ready, each sent as a server-side dry
      run (nothing is written) - proof that a webhook serves, with a certificate the API server trusts, beyond
      having endpoints (known failure 1). While the API server cannot reach the webhook the dry run is repeated,
      within O(wait_timeout); a refusal for any other reason fails at once. Not in check mode.
    type: list
    elements: dict
    default: []
  field_manager:
    description: The field manager that owns what is applied.
    type: str
    default: kserve_gke
  wait:
    description: Wait for the pieces to be ready (the CRDs are always waited for before the objects that need
      them).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait, in all, for the component to be ready (or, with O(state=absent), gone).
    type: int
    default: 600
  poll_interval:
    description: Seconds between two looks.
    type: float
    default: 5
  pending_fix:
    description: What to tell the user when Pods wait for CPU or memory no node has free. The default names the
      gke_cluster role's variables, since this collection's clusters come from it.
    type: str
    default: >-
      give the node pool these Pods may run on more room: more nodes (gke_cluster_system_node_count for the
      system pool) or a larger machine type (gke_cluster_system_machine_type, e.g. e2-standard-8)
  pending_alternative:
    description: Another way out for Pods that wait for CPU or memory (a smaller install), added to O(pending_fix)
      after C(or).
    type: str
    default: ""
  kubeconfig:
    description: The kubeconfig file (as kubernetes.core's option); the default is C(~/.kube/config).
    type: path
  context:
    description: The kubeconfig context (as kubernetes.core's option).
    type: str
extends_documentation_fragment:
  - mlops.kserve_gke.release_source
attributes:
  check_mode:
    description: Server-side dry runs only; objects in a Namespace or of a kind this run would create first are
      reported as new.
    support: full
  diff_mode:
    description: Each object that changes, as the cluster has it and as it would be.
    support: full
notes:
  - "Set O(kubeconfig) and O(context) once for every Kubernetes module with
    C(module_defaults: {group/mlops.kserve_gke.k8s: ...}); that group includes kubernetes.core's."
"""

EXAMPLES = r"""
- name: Cert-manager | Install and wait until it admits Issuers
  mlops.kserve_gke.k8s_component:
    name: cert-manager 1.21.2
    release_files: [cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml]
    checksums: "{{ lookup('mlops.kserve_gke.pinned', 'checksums') }}"

- name: KServe | Only the runtime the collection uses from the cluster resources
  mlops.kserve_gke.k8s_component:
    name: KServe's TensorFlow runtime
    release_files: [kserve/kserve/releases/download/v0.20.0/kserve-cluster-resources.yaml]
    include:
      - {kind: ClusterServingRuntime, name: kserve-tensorflow-serving}

- name: Cert-manager | Remove
  mlops.kserve_gke.k8s_component:
    name: cert-manager 1.21.2
    state: absent
    release_files: [cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml]
"""

RETURN = r"""
changed_objects:
  description: The objects written (in check mode, that would be written; with O(state=absent), deleted), as
    C(Kind namespace/name).
  returned: always
  type: list
  elements: str
  sample: [Deployment cert-manager/cert-manager]
objects:
  description: How many objects the component has after O(include) and O(exclude).
  returned: always
  type: int
sha256:
  description: Each release file's sha256, by its path.
  returned: always
  type: dict
ready:
  description: The pieces waited for, as C(Kind namespace/name).
  returned: state=present and not check mode
  type: list
  elements: str
load_balancers:
  description: The address (IP, else hostname) of each LoadBalancer Service of the component, by
    C(namespace/name), as read when it was ready.
  returned: state=present, not check mode, and O(wait)
  type: dict
  sample: {"istio-system/istio-ingressgateway": "34.118.10.7"}
admitted:
  description: The objects of O(admits) the webhooks admitted, as C(Kind namespace/name).
  returned: state=present, not check mode, and O(wait)
  type: list
  elements: str
  sample: [Issuer default/kserve-gke-readiness-probe]
diagnosis:
  description: For each piece not ready in time, why and the fix.
  returned: failure
  type: list
  elements: dict
  sample: [{"piece": "Deployment istio-system/istiod", "why": "Pod ... is Pending ...", "fix": "..."}]
seconds:
  description: Seconds the run took.
  returned: always
  type: float
requests:
  description: Kubernetes API requests the run made (discovery aside).
  returned: always
  type: int
"""

import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mlops.kserve_gke.plugins.module_utils import cluster as k8s
from ansible_collections.mlops.kserve_gke.plugins.module_utils import components, diagnosis, manifests
from ansible_collections.mlops.kserve_gke.plugins.module_utils.k8s_objects import merge_json_config

try:
    import yaml
except ImportError:
    yaml = None


# Server-side dry runs in flight at once: each is an independent request, and against a remote API server its
# round trip, not the server's work, is most of its cost. The writes that follow stay one at a time, in order.
DRY_RUN_WORKERS = 4
PENDING_FIX = ("give the node pool these Pods may run on more room: more nodes (gke_cluster_system_node_count for "
               "the system pool) or a larger machine type (gke_cluster_system_machine_type, e.g. e2-standard-8)")


def argspec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        release_files=dict(type="list", elements="str", default=[]),
        base_url=dict(type="str", default="https://github.com"),
        local_dir=dict(type="path"),
        checksums=dict(type="dict", default={}),
        definitions=dict(type="list", elements="dict", default=[]),
        include=dict(type="list", elements="dict", default=[]),
        exclude=dict(type="list", elements="dict", default=[]),
        namespace=dict(type="str"),
        json_config=dict(type="list", elements="dict", default=[], options=dict(
            namespace=dict(type="str", required=True), name=dict(type="str", required=True),
            overrides=dict(type="dict", required=True))),
        requires=dict(type="list", elements="dict", default=[], options=dict(
            crd=dict(type="str", required=True), what=dict(type="str"))),
        requires_fix=dict(type="str"),
        admits=dict(type="list", elements="dict", default=[]),
        field_manager=dict(type="str", default="kserve_gke"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=5),
        pending_fix=dict(type="str", default=PENDING_FIX),
        pending_alternative=dict(type="str", default=""),
        timeout=dict(type="int", default=60),
        kubeconfig=dict(type="path"),
        context=dict(type="str"),
    )


def read_release_file(path, params):
    """(objects, sha256) of one release file, read once."""
    data, where = manifests.read_source(path, params["base_url"], params["local_dir"], params["timeout"])
    digest = manifests.check_sha256(data, params["checksums"].get(path), where)
    crds, namespaces, others = manifests.split(data.decode("utf-8"), where)
    return crds + namespaces + others, digest


def prepare(objects, params):
    """The objects to apply: each once, those selected, in the namespace asked for, with the JSON settings
    changed; stops, naming the component, before any request when the input does not fit the release."""
    try:
        objects = components.select(components.unique(objects + [("definitions", d) for d in params["definitions"]]),
                                    params["include"], params["exclude"])
        if params["namespace"]:
            components.check_namespace(objects, params["namespace"])
        for config in params["json_config"]:
            try:
                objects = merge_json_config(objects, config["namespace"], config["name"], config["overrides"])
            except ValueError as exc:
                raise components.ComponentError("json_config: %s. Fix: name a ConfigMap and keys the release has"
                                                % exc) from exc
    except components.ComponentError as exc:
        raise components.ComponentError("%s: %s." % (params["name"], str(exc).rstrip("."))) from exc
    return objects


def _yaml(obj):
    return yaml.safe_dump(components.comparable(obj), default_flow_style=False, sort_keys=True)


class Run:
    """One invocation: the objects, the cluster, and what was written."""

    def __init__(self, module, cluster, objects):
        self.module, self.params, self.cluster, self.objects = module, module.params, cluster, objects
        self.changed, self.diffs, self.load_balancers, self.admitted = [], [], {}, []
        self.started = time.monotonic()

    def remaining(self):
        return self.params["wait_timeout"] - (time.monotonic() - self.started)

    def pause(self):
        """Wait one poll interval, or what is left of the time if less."""
        time.sleep(min(self.params["poll_interval"], max(self.remaining(), 0.1)))

    def _fail_apply(self, obj, exc, dry_run):
        message = k8s.error_message(exc)
        fix = diagnosis.explain_error(message) or "correct the object, or the release file, and re-run"
        raise components.ComponentError("%s %s of %s failed: %s. Fix: %s." % (
            "A server-side dry run" if dry_run else "Applying", components.describe(obj), self.params["name"],
            message, fix.rstrip(".")))

    def live_objects(self, objects):
        """The cluster's copies of the objects, by (apiVersion, kind, namespace, name): one list call per kind
        and namespace instead of one read per object."""
        index, groups = {}, set()
        for obj in objects:
            groups.add((obj["apiVersion"], obj["kind"], (obj.get("metadata") or {}).get("namespace")))
        for api_version, kind, namespace in sorted(groups, key=str):
            for item in self.cluster.list(api_version, kind, namespace):
                meta = item.get("metadata") or {}
                index[(api_version, kind, meta.get("namespace") if namespace else None, meta.get("name"))] = item
        return index

    def dry_runs(self, objects):
        """The API server's answer to a server-side dry run of each object, in order: the object as it would be,
        or the exception (NotServed for a kind no API serves). A few are in flight at once; the kinds are looked
        up first, one at a time, since the client's discovery cache is not made for threads."""
        served = []
        for obj in objects:
            try:
                self.cluster.resource(obj["apiVersion"], obj["kind"])
                served.append(None)
            except k8s.NotServed as exc:
                served.append(exc)

        def one(pair):
            obj, not_served = pair
            if not_served is not None:
                return not_served
            try:
                return self.cluster.apply(obj, self.params["field_manager"], dry_run=True)
            except k8s.DynamicApiError as exc:  # NotFoundError among them
                return exc
        with ThreadPoolExecutor(max_workers=DRY_RUN_WORKERS) as pool:
            return list(pool.map(one, zip(objects, served)))

    def converge(self, objects):
        """Dry-run each object, then apply for real, in order, those whose answer differs from the cluster's
        copy."""
        check = self.module.check_mode
        live_index = self.live_objects(objects)
        for obj, would in zip(objects, self.dry_runs(objects)):
            meta = obj.get("metadata") or {}
            live = live_index.get((obj["apiVersion"], obj["kind"], meta.get("namespace"), meta.get("name")))
            if isinstance(would, k8s.NotServed):
                if not check:
                    raise components.ComponentError(
                        "%s of %s is of a kind the cluster does not serve. Fix: install what brings its CRD first "
                        "(known failure 2), then re-run" % (components.describe(obj), self.params["name"]))
                live, would = None, obj     # its CRD comes with this run
            elif isinstance(would, k8s.NotFoundError):
                if not check:
                    self._fail_apply(obj, would, True)
                live, would = None, obj     # its Namespace comes with this run
            elif isinstance(would, k8s.DynamicApiError):
                self._fail_apply(obj, would, True)
            if not components.differs(live, would):
                continue
            self.changed.append(components.describe(obj))
            if self.module._diff:
                self.diffs.append({"before_header": components.describe(obj) if live else "(none)",
                                   "after_header": components.describe(obj),
                                   "before": _yaml(live) if live else "", "after": _yaml(would)})
            if not check:
                try:
                    self.cluster.apply(obj, self.params["field_manager"])
                except k8s.DynamicApiError as exc:
                    self._fail_apply(obj, exc, False)

    def read_state(self, pieces):
        """{kind: [objects]} for the pieces' kinds, one list call per kind and namespace."""
        kinds = {"CustomResourceDefinition": ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
                 "Deployment": ("apps/v1", "Deployment"), "DaemonSet": ("apps/v1", "DaemonSet"),
                 "WebhookService": ("v1", "Service"), "LoadBalancer": ("v1", "Service")}
        state, wanted = {}, {}
        for piece in pieces:
            wanted.setdefault(kinds[piece["kind"]], set()).add(piece["namespace"])
            if piece["kind"] == "WebhookService":
                wanted.setdefault(("v1", "Endpoints"), set()).add(piece["namespace"])
        for (api_version, kind), namespaces in wanted.items():
            for namespace in sorted(namespaces, key=str):
                state.setdefault(kind, []).extend(self.cluster.list(api_version, kind, namespace))
        return state

    def wait(self, pieces):
        """Poll until every piece is ready; the pieces still not ready when the time is up."""
        while True:
            state = self.read_state(pieces)
            waiting = components.not_ready(pieces, state, lambda ns, name: diagnosis.ready_addresses(
                [], state.get("Endpoints"), ns, name))
            if not waiting or self.remaining() <= 0:
                return waiting, state
            self.pause()

    def explain(self, waiting, state):
        """Why each piece is not ready (findings), read from the Pods, events and logs of its namespace."""
        namespaces = sorted({p["namespace"] for p in waiting if p["namespace"]})
        pods = [p for ns in namespaces for p in self.cluster.list("v1", "Pod", ns)]
        events = [e for ns in namespaces for e in self.cluster.list("v1", "Event", ns)]
        nodes = self.cluster.list("v1", "Node")
        logs = {}
        for pod in pods:
            for st in (pod.get("status") or {}).get("containerStatuses") or []:
                if ((st.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                    key = (pod["metadata"]["namespace"], pod["metadata"]["name"], st.get("name"))
                    logs[key] = self.cluster.log(*key)
        fix = self.params["pending_fix"] + (", or " + self.params["pending_alternative"]
                                            if self.params["pending_alternative"] else "")
        findings = diagnosis.diagnose(waiting, state, pods, events, logs, nodes, fix)
        return findings

    def check_requirements(self):
        """Stop before any write when a CRD that an earlier install brings is missing (a warning in check mode)."""
        served = [r["crd"] for r in self.params["requires"] if self.cluster.get(
            {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": r["crd"]}})]
        problem = components.missing_requirements(self.params["name"], self.params["requires"], served,
                                                  self.params["requires_fix"])
        if problem and self.module.check_mode:
            self.module.warn(problem + " (check mode: an earlier role's run would bring it)")
        elif problem:
            raise components.ComponentError(problem)

    def present(self):
        self.check_requirements()
        first, rest = components.install_order(self.objects)
        self.converge(first)
        crds = [p for p in components.needs(first) if p["kind"] == "CustomResourceDefinition"]
        if crds and not self.module.check_mode:
            waiting, state = self.wait(crds)
            if waiting:
                return self.explain(waiting, state)
            # The new kinds are found by Cluster.resource, which asks discovery again on a miss.
        self.converge(rest)
        if self.module.check_mode or not self.params["wait"]:
            return []
        pieces = [p for p in components.needs(self.objects) if p["kind"] != "CustomResourceDefinition"]
        waiting, state = self.wait(pieces)
        self.load_balancers = components.load_balancers(pieces, state)
        if waiting:
            return self.explain(waiting, state)
        self.prove_admission()
        return []

    def prove_admission(self):
        """Dry-run each object of `admits`; repeated while its webhook cannot be reached yet, within the time
        left (a webhook's endpoints can be ready before its CA bundle is injected, or its server listens)."""
        for obj in self.params["admits"]:
            while True:
                try:
                    self.cluster.apply(obj, self.params["field_manager"], dry_run=True)
                    break
                except k8s.DynamicApiError as exc:
                    message = k8s.error_message(exc)
                    if not diagnosis.webhook_not_serving(message) or self.remaining() <= 0:
                        fix = diagnosis.explain_error(message) or "look at the webhook's Pods and logs, then re-run"
                        raise components.ComponentError("%s is ready, but its webhooks do not admit %s: %s. Fix: %s." % (
                            self.params["name"], components.describe(obj), message, fix.rstrip("."))) from exc
                    self.pause()
            self.admitted.append(components.describe(obj))

    def absent(self):
        gone = []
        for obj in components.removal_order(self.objects):
            # A look first: what is gone already gets no request that a log would count as a write.
            if self.cluster.get(obj) is None:
                continue
            if self.module.check_mode:
                self.changed.append(components.describe(obj))
                continue
            if self.cluster.delete(obj):
                self.changed.append(components.describe(obj))
                gone.append(obj)
        while gone and self.remaining() > 0:
            gone = [obj for obj in gone if self.cluster.get(obj) is not None]
            if gone:
                self.pause()
        if gone:
            raise components.ComponentError("%s: %s still there after %d s. Fix: look at their finalizers "
                                            "(kubectl get ... -o yaml), then re-run" % (
                                                self.params["name"], ", ".join(components.describe(o) for o in gone),
                                                self.params["wait_timeout"]))


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if yaml is None:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    if not k8s.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    params = module.params
    result = dict(changed=False, changed_objects=[], sha256={}, objects=0, requests=0)
    try:
        objects = []
        for path in params["release_files"]:
            docs, result["sha256"][path] = read_release_file(path, params)
            objects.extend((path, doc) for doc in docs)
        objects = prepare(objects, params)
        result["objects"] = len(objects)
        cluster = k8s.Cluster(params["kubeconfig"], params["context"])
        run = Run(module, cluster, objects)
        findings = run.present() if params["state"] == "present" else run.absent()
        result.update(changed=bool(run.changed), changed_objects=run.changed, requests=cluster.requests,
                      seconds=round(time.monotonic() - run.started, 2))
        if run.diffs:
            result["diff"] = run.diffs
        if params["state"] == "present" and not module.check_mode and params["wait"]:
            result["ready"] = ["%s %s" % (p["kind"], "/".join(x for x in (p["namespace"], p["name"]) if x))
                               for p in components.needs(objects)]
            result["load_balancers"] = run.load_balancers
            result["admitted"] = run.admitted
        if findings:
            module.fail_json(msg=diagnosis.report(params["name"], findings, params["wait_timeout"]),
                             diagnosis=findings, **result)
    except (components.ComponentError, manifests.ManifestError, k8s.ClusterError) as exc:
        module.fail_json(msg=str(exc), **result)
    except k8s.DynamicApiError as exc:
        message = k8s.error_message(exc)
        fix = diagnosis.explain_error(message)
        module.fail_json(msg="%s: the Kubernetes API answered %s: %s.%s" % (
            params["name"], getattr(exc, "status", "?"), message, " Fix: %s." % fix if fix else ""), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
