"""File formats that carry the record out of the base: editors' timelines, incident exports and
evidence bags. They present what review/ decides; the core knows nothing of them."""
