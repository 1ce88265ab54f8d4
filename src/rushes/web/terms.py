"""Words the catalog stores and the pages show: statuses, roles, categories, kinds, and the
names of fields that errors put into their messages (i18n.Term).

They stay English in the database and the JSON API; a page shows each through `|t`, which
finds it in the language's catalog. Listed here so that extraction sees them (a new status in
review/ must be added here too: tests/web/test_languages.py checks).
"""

from __future__ import annotations

from rushes.i18n import N_

TERMS = (
    # assignments (review.assignments.STATUSES)
    N_("open"),
    N_("in-progress"),
    N_("done"),
    N_("dropped"),
    # note categories (review.notes.CATEGORIES)
    N_("framing"),
    N_("story"),
    N_("sound"),
    N_("technical"),
    N_("evidence"),
    # roles (review.access.Role)
    N_("admin"),
    N_("director"),
    N_("investigator"),
    N_("crew"),
    # incidents (review.incident_fields.RELATIONS, VERIFICATIONS, FIGURES)
    N_("strike"),
    N_("aftermath"),
    N_("rescue"),
    N_("testimony"),
    N_("unverified"),
    N_("partly"),
    N_("verified"),
    # the incident's figures, as the form (lower case) and the record (capitalised) name them
    N_("people present"),
    N_("rescued"),
    N_("bodies"),
    N_("injured"),
    N_("killed"),
    N_("volunteers injured"),
    N_("volunteers killed"),
    N_("People present"),
    N_("Rescued"),
    N_("Bodies"),
    N_("Injured"),
    N_("Killed"),
    N_("Volunteers injured"),
    N_("Volunteers killed"),
    # the incident types every base starts with (catalog migration 0005)
    N_("Airstrike"),
    N_("Barrel bomb"),
    N_("Cluster munition"),
    N_("Chemical attack"),
    N_("Artillery"),
    N_("Missile"),
    N_("Building collapse"),
    N_("Fire"),
    N_("Other"),
    # a clip in the browser (review.browse), its kind
    N_("new"),
    N_("noted"),
    N_("selected"),
    N_("video"),
    N_("audio"),
    N_("image"),
    N_("unknown"),
    N_("other"),
    # the browser's orders and days (review.browse.ORDERS, DAYS_OF)
    N_("newest"),
    N_("oldest"),
    # the pipeline's steps (pipeline.steps.STEPS), named where one failed
    N_("probe"),
    N_("provenance"),
    N_("thumbnails"),
    N_("fingerprint"),
    N_("near-duplicates"),
    N_("shots"),
    N_("proxy"),
    # shots (media.shots)
    N_("start"),
    N_("cut"),
    N_("fade"),
    N_("dissolve"),
    # evidence bags (exports.bag_jobs)
    N_("queued"),
    N_("making"),
    N_("packing"),
    N_("failed"),
    # the base's stores (web.status)
    N_("originals"),
    N_("derivatives"),
    # the admin page's audit trail (review.audit: its actions)
    N_("account-created"),
    N_("pseudonym-revealed"),
    N_("password-changed"),
    N_("role-granted"),
    N_("role-removed"),
    N_("token-issued"),
    N_("token-revoked"),
    N_("time-zone-set"),
    # C2PA validation states (media.credentials), on the status page
    N_("Trusted"),
    N_("Valid"),
    N_("Invalid"),
    N_("unreadable"),
    # an incident's fields as its history and the errors name them (underscores as spaces;
    # review.incident_fields.FIELDS, the figures above), and what else its history records
    N_("title"),
    N_("type"),
    N_("started at"),
    N_("started offset"),
    N_("ended at"),
    N_("ended offset"),
    N_("place"),
    N_("latitude"),
    N_("longitude"),
    N_("accuracy m"),
    N_("verification"),
    N_("description"),
    N_("created"),
    N_("deleted"),
    N_("footage"),
    N_("suggestion"),
    N_("related"),
    # other fields errors name: dates (review.dates), frames (review.notes), a note's JSON
    N_("due date"),
    N_("since"),
    N_("day"),
    N_("from"),
    N_("to"),
    N_("end"),
    N_("offset"),
    N_("body"),
    N_("category"),
    N_("rate"),
    N_("addressed to"),
)
