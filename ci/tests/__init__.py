"""Unit tests of ci/kvtci (python3 -m unittest discover -s ci/tests -t ci)."""
