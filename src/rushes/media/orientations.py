"""The eight orientations a copy can take (turns and flips) by name: the catalog shows them
without loading the fingerprint maths."""

#: The eight ways a picture can be turned or flipped, named as what B is if A turned so is B.
TRANSFORMS = (
    "none",
    "mirrored",
    "upside down",
    "turned 180",
    "transposed",
    "turned 90 clockwise",
    "turned 90 counter-clockwise",
    "anti-transposed",
)
# What undoes each: the quarter turns undo each other, every other one undoes itself.
INVERSE = (0, 1, 2, 3, 4, 6, 5, 7)
