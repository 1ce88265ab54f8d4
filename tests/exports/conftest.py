"""The web fixtures (a real server, the team, real footage) for export tests."""

from tests.web.conftest import footage, login, server, team  # noqa: F401 - fixtures
