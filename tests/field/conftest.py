"""The web tests' real server and team, for the field kit's end-to-end tests; every field kit
a test made is locked afterwards (no unlocked memory folder or timer outlives its test)."""

from collections.abc import Iterator

import pytest

from tests.field.test_sync import Kit
from tests.web.conftest import login, server, team  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def lock_kits() -> Iterator[None]:
    yield
    while Kit.made:
        Kit.made.pop().home.lock()
