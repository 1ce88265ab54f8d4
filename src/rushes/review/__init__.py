"""The review room's rules, apart from how they are shown: accounts, who may see and do what,
notes, assignments, selects. `web` presents them; the field kit's API uses them too."""
