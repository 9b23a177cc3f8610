"""Typed HTTP APIs on Starlette: endpoints, OpenAPI, serving."""
