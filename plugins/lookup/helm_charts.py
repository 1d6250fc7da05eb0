# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: helm_charts
short_description: Helm charts fetched, checked against their pinned sha256 and rendered with helm template
version_added: "0.5.0"
description:
  - For each chart, downloads its package from O(base) (a chart repository's URL, or C(file://) and a directory),
    checks it against the sha256 pinned for C(<checksum_prefix>/<file>) in O(checksums) before Helm reads it,
    and renders it with C(helm template) (CRDs included) into a scratch directory that is removed afterwards.
  - Helm only renders - no cluster access, no release Secret - so the objects are applied like any release
    file's, by C(mlops.kserve_gke.k8s_component).
  - Runs on the controller, in the playbook's own process; that is where the role's Kubernetes modules run too.
    A download, checksum or rendering failure stops the run with the file, the cause and the fix.
author:
  - kserve_gke contributors (@mlops)
options:
  _terms:
    description: The charts, each a dict with C(chart) (its name, which picks its O(values)), C(file) (the
      package's file name) and C(release) (the release name).
    required: true
    type: list
    elements: dict
  base:
    description: Where the packages are, C(https://...) or C(file:///dir).
    type: str
    required: true
  namespace:
    description: The release namespace.
    type: str
    required: true
  values:
    description: Values by chart name, as C(helm install -f) takes them.
    type: dict
    default: {}
  checksums:
    description: Pinned sha256 by path (the collection's pins, as C(lookup('mlops.kserve_gke.pinned', 'checksums'))
      gives them); a chart without an entry is not checked.
    type: dict
    default: {}
  checksum_prefix:
    description: The path under which O(checksums) names the packages.
    type: str
    default: istio-release/charts
  helm:
    description: The helm binary; empty finds C(helm) on PATH.
    type: str
    default: ""
  timeout:
    description: Seconds for each download and each rendering.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Istio | Render the charts
  ansible.builtin.set_fact:
    rendered: >-
      {{ lookup('mlops.kserve_gke.helm_charts', [{'chart': 'base', 'file': 'base-1.30.7.tgz', 'release': 'istio-base'}],
                base='https://istio-release.storage.googleapis.com/charts', namespace='istio-system') }}
"""

RETURN = r"""
_raw:
  description: What C(helm template) printed for each chart, in the order given.
  type: list
  elements: str
"""

import json
import os
import shutil
import subprocess
import tempfile

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.mlops.kserve_gke.plugins.module_utils import manifests

FETCH_FIX = ("check that the chart version exists and the network path, or set istio_helm_repo (or "
             "kserve_gke_release_dir, whose istio-release/charts/ holds the packages)")


def fetch(base, name, expected, timeout):
    """A chart package's bytes from a repository URL or a file:// directory, checked against its pinned sha256."""
    local = base[len("file://"):] if base.startswith("file://") else None
    try:
        data, where = manifests.read_source(name, None if local else base, local, timeout)
    except manifests.ManifestError as exc:
        raise AnsibleLookupError("%s: %s. Fix: %s." % (name, str(exc).split(". Fix:", maxsplit=1)[0], FETCH_FIX)) from exc
    try:
        manifests.check_sha256(data, expected, where)
    except manifests.ManifestError as exc:  # its message has the sha256 found, the one pinned and the fix
        raise AnsibleLookupError("%s: the chart is not the one pinned in kserve_gke_checksums. %s" % (name, exc)) from exc
    return data


def render(helm, chart_path, release, namespace, values_path, timeout):
    """helm template's output for one chart package; raises AnsibleLookupError with Helm's words."""
    argv = [helm, "template", release, chart_path, "--namespace", namespace, "--include-crds", "-f", values_path]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AnsibleLookupError("helm template %s failed: %s. Fix: check istio_helm_binary" % (release, exc))
    if proc.returncode != 0:
        raise AnsibleLookupError("helm template %s (%s) failed: %s. Fix: check the chart's values (istio_helm_values)"
                                 % (release, os.path.basename(chart_path), proc.stderr.strip()))
    return proc.stdout


def render_charts(charts, base, namespace, values=None, checksums=None, prefix="istio-release/charts", helm="",
                  timeout=60):
    """What helm template prints for each chart ({chart, file, release}), each package fetched from base and
    checked against its pin first, in a scratch directory removed afterwards."""
    helm = helm or shutil.which("helm")
    if not helm:
        raise AnsibleLookupError("helm_charts: no helm binary on PATH. Fix: install Helm, or set istio_helm_binary")
    values, checksums, prefix = values or {}, checksums or {}, prefix.strip("/")
    scratch = tempfile.mkdtemp(suffix="-charts")
    try:
        rendered = []
        for chart in charts:
            data = fetch(base.rstrip("/"), chart["file"], checksums.get("%s/%s" % (prefix, chart["file"])), timeout)
            path = os.path.join(scratch, chart["file"])
            with open(path, "wb") as handle:
                handle.write(data)
            # JSON is YAML to Helm, and json takes Ansible's own str and dict subclasses as they are.
            values_path = os.path.join(scratch, chart["release"] + "-values.json")
            with open(values_path, "w", encoding="utf-8") as handle:
                json.dump(values.get(chart.get("chart")) or {}, handle)
            rendered.append(render(helm, path, chart["release"], namespace, values_path, timeout))
        return rendered
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        charts = [c for term in terms for c in (term if isinstance(term, list) else [term])]
        return [render_charts(charts, self.get_option("base"), self.get_option("namespace"),
                              values=self.get_option("values"), checksums=self.get_option("checksums"),
                              prefix=self.get_option("checksum_prefix"), helm=self.get_option("helm"),
                              timeout=self.get_option("timeout"))]
