"""The embedded platform: Agents, runs, memory and traces on one machine, no cluster needed.

The same resources (YAML files in a folder instead of custom resources in an API server) are
validated by the same models and turned into the same runtime config as in a cluster; only
where things run and how they are reached differs.
"""
