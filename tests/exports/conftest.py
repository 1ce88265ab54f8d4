"""The web fixtures (a real server, the team, real footage) for export tests."""

from tests.web.conftest import footage, footage_clips, login, server, team  # noqa: F401 - fixtures
