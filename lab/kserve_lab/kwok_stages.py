# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kwok does to the lab's simulated nodes (its Stage API, kwok.x-k8s.io/v1alpha1, v0.8.0): written here for
the lab, in the shape of kwok's documented stages. kwok fills the status templates with its own functions (Now,
NodeConditions, NodeIP, Quote) and applies each as a status patch; fields a template does not name (a node's
allocatable and capacity, which the lab sets by machine type) stay as set. kwok also keeps the nodes' leases.

There are no Pod stages: kwok then leaves Pods alone (it warns "No pod stages found"), and the lab's kubelet
(kubelet.py) runs them, since what a Pod does depends on the rest of the cluster (Secrets, other Services' endpoints,
the cluster's version) in ways a stage's selector cannot express.

Kept as text here (and written into each cluster's directory for kwok's --config) since kwok reads its stages
as one multi-document YAML stream."""

STAGES = """\
# A node the lab registers becomes Ready, as a kubelet reports it.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: lab-node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
      - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
        operator: NotIn
        values: ["True"]
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      addresses:
      - address: {{ NodeIP | Quote }}
        type: InternalIP
      - address: {{ .metadata.name | Quote }}
        type: Hostname
      phase: Running
"""
