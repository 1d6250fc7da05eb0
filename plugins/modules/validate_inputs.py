#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: validate_inputs
short_description: Check the collection's inventory, tools and pinned versions before any change
version_added: "0.1.0"
description:
  - Checks, in one pass, everything the site playbook can know before it touches the cloud.
  - The Python interpreter and ansible-core versions, the required inventory variables and
    their form, renamed or removed variables, and the pinned component versions against
    the compatibility matrix.
  - With O(helm_needed), the helm binary the istio role's Helm path runs, and its version.
  - Every problem is reported at once, each naming the variable and the fix.
    Pins past their upstream end of life are reported as warnings.
  - The module changes nothing, so it runs the same in check mode.
author:
  - kserve_gke contributors (@mlops)
options:
  config:
    description:
      - The collection's inventory variables, by name.
      - Variables that are not set may be left out or given as null.
    type: dict
    required: true
  role_specs:
    description:
      - Each role's C(meta/argument_specs.yml) options (entry point C(main)), by role, as the lookup
        P(mlops.kserve_gke.argument_specs#lookup) reads them. Every role variable O(config) holds is checked against its
        spec (type, choices, suboptions) before any role runs.
    type: dict
    default: {}
  defined_names:
    description:
      - Names of all variables defined for the host, used to find renamed or removed ones.
    type: list
    elements: str
    default: []
  versions:
    description:
      - The user's version pins (C(kserve_gke_versions)), merged over O(version_defaults). Anything but a mapping
        is refused with the variable's name (Ansible's own type check would not name it).
    type: raw
    default: {}
  version_defaults:
    description:
      - The collection's default version pins.
    type: dict
    required: true
  matrix:
    description:
      - The compatibility matrix, by component and minor version.
    type: dict
    required: true
  ansible_version:
    description:
      - The running ansible-core version, from C(ansible_version.full).
    type: str
    required: true
  min_ansible_version:
    description:
      - The oldest ansible-core this collection supports.
    type: str
    default: "2.16.0"
  min_python_version:
    description:
      - The oldest Python this collection supports on the machine that runs its modules.
    type: str
    default: "3.11"
  helm_needed:
    description:
      - Whether this run renders Helm charts (the istio role with C(istio_install_method=helm)); the helm
        binary is then looked for and its version checked.
    type: bool
    default: false
  helm_binary:
    description:
      - The helm binary to check; empty finds C(helm) on PATH.
    type: str
    default: ""
  today:
    description:
      - The date to judge end of life against, as C(YYYY-MM-DD). Defaults to today.
    type: str
attributes:
  check_mode:
    description: Can run in check mode and return the same result.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
notes:
  - Nothing is changed, so O(ignore:changed) is always false.
"""

EXAMPLES = r"""
- name: Validate | Check inventory, tools and version pins
  mlops.kserve_gke.validate_inputs:
    config:
      kserve_gke_project: my-ml-project
      kserve_gke_location: us-central1-a
      kserve_gke_cluster_name: kserve-gpu
    defined_names: "{{ query('ansible.builtin.varnames', '.+') }}"
    versions: "{{ kserve_gke_versions | default({}) }}"
    version_defaults: "{{ kserve_gke_version_defaults }}"
    matrix: "{{ kserve_gke_compatibility }}"
    ansible_version: "{{ ansible_version.full }}"
"""

RETURN = r"""
versions:
  description: The resolved version pins, defaults with the user's overrides applied.
  returned: success
  type: dict
  sample: {"kubernetes": "1.33", "istio": "1.30.4", "knative": "1.22.1",
           "cert_manager": "1.21.2", "kserve": "0.20.0"}
warnings_found:
  description: Problems that do not stop the run, such as pins past their end of life.
  returned: always
  type: list
  elements: str
  sample: ["Istio 1.28.2 reached end of life on 2026-07-01; consider Istio 1.29 or 1.30"]
errors:
  description: Problems that stop the run, each naming the variable and the fix.
  returned: failure
  type: list
  elements: str
  sample: ["kserve_gke_project: is required but not set. Fix: set it in group_vars/all/gcp.yml"]
"""

import datetime
import os
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.kserve_gke.plugins.module_utils import inputs, versions


def argspec():
    return dict(
        config=dict(type="dict", required=True),
        role_specs=dict(type="dict", default={}),
        defined_names=dict(type="list", elements="str", default=[]),
        versions=dict(type="raw", default={}),
        version_defaults=dict(type="dict", required=True),
        matrix=dict(type="dict", required=True),
        ansible_version=dict(type="str", required=True),
        min_ansible_version=dict(type="str", default="2.16.0"),
        min_python_version=dict(type="str", default="3.11"),
        helm_needed=dict(type="bool", default=False),
        helm_binary=dict(type="str", default=""),
        today=dict(type="str"),
    )


def _tuple(version):
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def check_tools(ansible_version, min_ansible, python_version, min_python):
    errors = []
    if _tuple(ansible_version) < _tuple(min_ansible):
        errors.append("ansible-core %s is too old: this collection needs %s or newer. "
                      "Fix: pip install 'ansible-core>=%s'" % (ansible_version, min_ansible, min_ansible))
    if python_version < _tuple(min_python):
        errors.append("Python %s is too old: this collection needs %s or newer. Fix: run "
                      "Ansible from a Python %s+ virtual environment"
                      % (".".join(map(str, python_version)), min_python, min_python))
    return errors


def find_helm(module):
    """(path or None, `helm version` output) for the helm binary the run would use."""
    wanted = module.params["helm_binary"] or "helm"
    binary = module.get_bin_path(wanted) if os.sep not in wanted else (wanted if os.access(wanted, os.X_OK) else None)
    if not binary:
        return None, ""
    _rc, out, err = module.run_command([binary, "version", "--template", "{{.Version}}"])
    return binary, out or err


def run(params, helm=None):
    """Return the module result; errors go in result['errors']. `helm` is find_helm's answer, when needed."""
    today = datetime.date.fromisoformat(params["today"]) if params["today"] else None
    errors = check_tools(params["ansible_version"], params["min_ansible_version"],
                         tuple(sys.version_info[:3]), params["min_python_version"])
    if helm is not None:
        errors += inputs.check_helm(*helm)
    config_errors, config_warnings = inputs.check_config(params["config"], params["defined_names"],
                                                         params["role_specs"])
    user = params["versions"] if params["versions"] is not None else {}
    if not isinstance(user, dict):
        config_errors.append("kserve_gke_versions: must be a mapping of component to version, got %r. Fix: write "
                             "it as {kserve: \"0.20.0\"}, or remove it to take the pins" % (user,))
        user = {}
    resolved = versions.resolve_versions(params["version_defaults"], user)
    version_errors, version_warnings = versions.check_versions(resolved, params["matrix"], today)
    return dict(changed=False, versions=resolved,
                errors=errors + config_errors + version_errors,
                warnings_found=config_warnings + version_warnings)


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        result = run(module.params, find_helm(module) if module.params["helm_needed"] else None)
    except ValueError as exc:
        module.fail_json(msg="Validation could not run: %s" % exc)
    for warning in result["warnings_found"]:
        module.warn(warning)
    if result["errors"]:
        module.fail_json(msg="%d problem(s) in the inventory, stopped before any change:\n- %s"
                         % (len(result["errors"]), "\n- ".join(result["errors"])),
                         errors=result["errors"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
