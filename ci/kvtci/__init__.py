"""kvtci: the Python of the ci/ scripts, one module per job.

Each module runs as `python3 -m kvtci.MODULE ARGS` (the scripts call it
through kvt_py in ci/setup.sh) and is tested by ci/tests/.  Standard library
only: the scripts run on a bare Debian with python3 and nothing else.
"""
