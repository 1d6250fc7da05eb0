# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py script that ansible-test downloads.

ansible-test runs it inside a fresh virtual environment with pip's install
options and the packages to install (pip==X). This version takes pip from the
interpreter's own ensurepip, then lets that pip install what was asked for
from the package index, so no download of the script itself is needed.
scripts/bootstrap copies it to ~/.ansible/test/cache/get_pip_<version>.py.
"""

import subprocess
import sys

# Options only get-pip.py understands; plain pip would refuse them.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                          stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))


if __name__ == "__main__":
    main()
