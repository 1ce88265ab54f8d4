"""The sign-in brake and the first admin's link under attack: throttled per name and address
(so a stranger cannot lock the owner out), and atomic under real concurrency (PostgreSQL ran
15 of 30 parallel guesses and made 8 first admins from one link before)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx
from sqlalchemy import func, select

from rushes.base import Base
from rushes.catalog.models import LoginFailure, User
from rushes.review import accounts
from rushes.review.accounts import MAX_FAILURES_PER_NAME, MAX_FAILURES_PER_PAIR
from tests.tls import TLS
from tests.web.conftest import PASSWORD, Team

WRONG = {"username": "dina", "password": "not the password"}
RIGHT = {"username": "dina", "password": PASSWORD}


def _from(server: str, address: str) -> httpx.Client:
    """A client whose connections come from this loopback address."""
    transport = httpx.HTTPTransport(local_address=address, verify=TLS)
    return httpx.Client(base_url=server, transport=transport, timeout=60, verify=TLS)


def test_a_stranger_cannot_lock_the_owner_out(server: str, team: Team) -> None:
    with _from(server, "127.0.0.2") as stranger, _from(server, "127.0.0.3") as owner:
        for _ in range(MAX_FAILURES_PER_PAIR):
            assert stranger.post("/login", data=WRONG).status_code == 401
        braked = stranger.post("/login", data=RIGHT)
        assert braked.status_code == 429 and int(braked.headers["retry-after"]) > 0
        assert owner.post("/login", data=RIGHT).status_code == 303


def test_guesses_from_many_addresses_meet_a_slower_limit_on_the_name(
    server: str, team: Team
) -> None:
    addresses = [f"127.0.1.{n}" for n in range(MAX_FAILURES_PER_NAME // MAX_FAILURES_PER_PAIR)]
    for address in addresses:
        with _from(server, address) as guesser:
            for _ in range(MAX_FAILURES_PER_PAIR):
                assert guesser.post("/login", data=WRONG).status_code == 401
    with _from(server, "127.0.2.1") as fresh:
        assert fresh.post("/login", data=RIGHT).status_code == 429
        assert fresh.post("/login", data={**RIGHT, "username": "ivan"}).status_code == 303


def _all_at_once(count: int, request: Callable[[int], int]) -> Counter[int]:
    """Run `request(n)` for n in range(count) in threads released together; their statuses."""
    barrier = threading.Barrier(count)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        status = request(n)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(statuses.values()) == count, statuses
    return statuses


def test_parallel_guesses_for_one_name_are_counted_one_after_another(
    base: Base, server: str, team: Team
) -> None:
    def guess(_n: int) -> int:
        with httpx.Client(base_url=server, timeout=60, verify=TLS) as client:
            return client.post("/login", data=WRONG).status_code

    statuses = _all_at_once(30, guess)
    assert statuses == {401: MAX_FAILURES_PER_PAIR, 429: 30 - MAX_FAILURES_PER_PAIR}
    with base.catalog.read() as session:
        checked = session.scalar(select(func.count()).select_from(LoginFailure))
    assert checked == MAX_FAILURES_PER_PAIR


def test_concurrent_setups_make_exactly_one_first_admin(base: Base, server: str) -> None:
    with base.catalog.write() as session:
        links = [accounts.issue_setup_token(session), accounts.issue_setup_token(session)]

    def set_up(n: int) -> int:
        form = {"token": links[n % 2], "username": f"admin{n}", "password": "a long password"}
        with httpx.Client(base_url=server, timeout=60, verify=TLS) as client:
            return client.post("/setup", data=form).status_code

    statuses = _all_at_once(8, set_up)
    assert statuses[303] == 1 and sum(statuses.values()) == 8, statuses
    assert set(statuses) <= {303, 400, 410}, statuses
    with base.catalog.read() as session:
        admins = session.scalars(select(User.username).where(User.site_admin.is_(True))).all()
    assert len(admins) == 1
