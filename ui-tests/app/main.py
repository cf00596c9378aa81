#!/usr/bin/env python3
"""Starts JupyterLab 4.6 with the CANFAR extension (see canfar_dev_lab.py).

    /usr/bin/python3 ui-tests/app/main.py [--test] [--root-dir DIR] [--state-dir DIR] [jupyter_server options]

jupyter_server finds an extension application by the module that defines it, so the application
lives in an importable module next to this launcher rather than in __main__.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canfar_dev_lab  # noqa: E402

if __name__ == "__main__":
    canfar_dev_lab.main()
