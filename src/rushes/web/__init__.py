"""The base's web face: pages and JSON API on FastAPI."""
