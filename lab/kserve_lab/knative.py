# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Knative's binaries do at start that the lab reproduces: the Kubernetes version check.

Every Knative Serving and net-istio binary built on knative.dev/pkg's sharedmain checks the API server's
version first (`version.CheckMinimumVersion`) and exits with "Version check failed" below its minimum,
`defaultMinimumVersion` of its knative.dev/pkg release branch, unless KUBERNETES_MIN_VERSION lowers it:
release-1.19 and 1.20 need v1.32.0, 1.21 v1.33.0, 1.22 and 1.23 v1.34.0. The controller and the webhook
exit at once (CrashLoopBackOff); the activator runs unready for about a minute first. Their Pods are
known by the labels Knative's release manifests put on them: app.kubernetes.io/name knative-serving and
app.kubernetes.io/version.
"""

from __future__ import annotations

import json
import re

MINIMUM = {"1.19": "1.32.0", "1.20": "1.32.0", "1.21": "1.33.0", "1.22": "1.34.0", "1.23": "1.34.0"}
OVERRIDE = "KUBERNETES_MIN_VERSION"
LATE_EXIT = {"activator": 60}  # real seconds a component runs before it exits


def _triple(version):
    found = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version or "")
    return tuple(int(n) for n in found.groups()) if found else None


def version_check(pod, container, server_version):
    """(seconds before the container exits, its last log line) when a Knative binary refuses this API
    server's version, else None."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if labels.get("app.kubernetes.io/name") != "knative-serving":
        return None
    release = ".".join(str(labels.get("app.kubernetes.io/version", "")).lstrip("v").split(".")[:2])
    env = {e.get("name"): e.get("value") for e in container.get("env") or []}
    minimum = env.get(OVERRIDE) or MINIMUM.get(release)
    current, wanted = _triple(server_version), _triple(minimum)
    if current is None or wanted is None or current >= wanted:
        return None
    shown = server_version.lstrip("v")
    error = ('kubernetes version "%s" is not compatible, need at least "%s" (this can be overridden with the env '
             'var "%s")' % (shown, "%d.%d.%d-0" % wanted, OVERRIDE))
    line = json.dumps({"severity": "EMERGENCY", "logger": labels.get("app", container.get("name")),
                       "caller": "sharedmain/main.go:463", "message": "Version check failed",
                       "knative.dev/pod": pod["metadata"]["name"], "error": error})
    return LATE_EXIT.get(labels.get("app"), 0), line
