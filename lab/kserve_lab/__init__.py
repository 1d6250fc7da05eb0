# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local lab: twins of Google Cloud and Kubernetes APIs on loopback.

See docs/lab.md for what it reproduces faithfully and what it does not.
"""
