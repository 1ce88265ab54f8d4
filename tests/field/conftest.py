"""The web tests' real server and team, for the field kit's end-to-end tests."""

from tests.web.conftest import login, server, team  # noqa: F401 - fixtures
