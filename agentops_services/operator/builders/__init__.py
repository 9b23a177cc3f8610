"""Pure functions from resources (and what they reference) to the children the operator applies.

No I/O here: every builder takes typed models and returns plain manifest dicts, ready for
server-side apply, so each is unit-tested with golden YAML.
"""
