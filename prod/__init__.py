"""The production topology on this machine (`make up-prod`); see prod/topology.py."""
