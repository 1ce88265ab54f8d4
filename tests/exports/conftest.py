"""The web fixtures (a real server, the team, real footage) for export tests."""

from tests.web.conftest import (  # noqa: F401 - fixtures
    footage,
    footage_clips,
    footage_templates,
    login,
    server,
    team,
)
