"""The Inbox: what happened for the signed-in person (rules in `rushes.review.inbox`), each item
linked to where it happened, marked read one by one or all at once. A plain page for phones."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from rushes.review.inbox import Item, inbox, mark_read
from rushes.web.auth import SignedIn, check_origin
from rushes.web.dependencies import Reading, Writing, page
from rushes.web.me import note_link

router = APIRouter(dependencies=[Depends(check_origin)])


def link(item: Item) -> str:
    """Where the item happened: the player at the note, the assignment, the day's clips."""
    base = f"/p/{item.project.slug}"
    if item.note is not None:
        return note_link(item.note, item.project)
    if item.assignment is not None:
        return f"{base}/assignments/{item.assignment.id}"
    if item.day is not None:
        return f"{base}/?{urlencode({'crew': item.crew, 'day': item.day.isoformat()})}"
    return f"{base}/a/{item.sha256}"


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, identity: SignedIn, session: Reading) -> HTMLResponse:
    items = inbox(session, identity.user)
    unread = sum(item.unread for item in items)
    context = {"items": [(item, link(item)) for item in items], "unread": unread}
    return page(request, "inbox.html", context)


@router.post("/inbox/read")
def read_one(
    identity: SignedIn, session: Writing, key: Annotated[str, Form(max_length=200)]
) -> RedirectResponse:
    mark_read(session, identity.user, [key])
    return RedirectResponse("/inbox", 303)


@router.post("/inbox/read-all")
def read_all(identity: SignedIn, session: Writing) -> RedirectResponse:
    """Everything listed now; what arrives later is unread again."""
    mark_read(session, identity.user, [i.key for i in inbox(session, identity.user) if i.unread])
    return RedirectResponse("/inbox", 303)
