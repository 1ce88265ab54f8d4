"""Generated footage for measuring recognition on material no threshold was set on.

`sources` draws varied scenes; `copies` edits them the way footage changes on its way around;
`montages` cuts them together with known shot boundaries. Tests use a small slice, the
benchmark (bench/recognition.py) the whole set.
"""
