# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m kserve_lab serve|up|down|status|env|reset (scripts/lab wraps it)."""

from .cli import main

main()
