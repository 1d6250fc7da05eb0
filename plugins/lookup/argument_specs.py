# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: argument_specs
short_description: The options each of the collection's roles documents in its meta/argument_specs.yml
version_added: "0.4.0"
description:
  - Reads C(roles/*/meta/argument_specs.yml) of this collection and returns, by role, the options of its C(main)
    entry point, the spec Ansible checks a role's variables against when the role starts.
  - The validation play hands them to M(mlops.kserve_gke.validate_inputs), so that every role's settings are
    checked before the first change, not only when their role runs after the cluster was built.
author:
  - kserve_gke contributors (@mlops)
options:
  _terms:
    description: Role names to return; none returns every role.
    required: false
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Show the options the knative role takes
  ansible.builtin.debug:
    msg: "{{ lookup('mlops.kserve_gke.argument_specs', 'knative') | list }}"
"""

RETURN = r"""
_raw:
  description: One dict, role name to its C(main) options.
  type: list
  elements: dict
"""

import functools
import glob
import os

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "roles")


@functools.lru_cache(maxsize=2)
def read_specs(roles_dir=ROLES_DIR):
    """{role: main options} for every role that has an argument spec. Callers must not change it."""
    specs = {}
    for path in sorted(glob.glob(os.path.join(roles_dir, "*", "meta", "argument_specs.yml"))):
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        role = os.path.basename(os.path.dirname(os.path.dirname(path)))
        specs[role] = ((data.get("argument_specs") or {}).get("main") or {}).get("options") or {}
    return specs


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        specs = read_specs()
        unknown = sorted(set(terms) - set(specs))
        if unknown:
            raise AnsibleError("lookup mlops.kserve_gke.argument_specs: no role %s; the roles are %s"
                               % (", ".join(unknown), ", ".join(specs)))
        return [{role: specs[role] for role in (terms or specs)}]
