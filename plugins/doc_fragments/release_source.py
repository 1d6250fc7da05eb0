# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Where the modules that read upstream release files read them from."""

    DOCUMENTATION = r"""
options:
  base_url:
    description: Where release files are fetched from, by their path under C(https://github.com/); a mirror keeps
      GitHub's layout.
    type: str
    default: https://github.com
  local_dir:
    description: A directory with GitHub's layout to read release files from instead of any URL (air-gapped
      sites).
    type: path
  timeout:
    description: Seconds to wait for a release file's download.
    type: int
    default: 60
"""
