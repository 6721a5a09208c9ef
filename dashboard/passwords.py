"""Which passwords are refused: too short, the user's own name, or easy to guess.

Guessability is zxcvbn's estimate (dictionaries of common passwords, names, words, keyboard
patterns, repeats, sequences and dates). A password needs a score of at least MIN_SCORE:
2 means more than 10^6 guesses, enough against an online attacker the sign-in throttle
slows to a few tries a minute. Pure: no I/O.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 200  # the sign-in form's maxlength; zxcvbn is slow on very long input
MIN_SCORE = 2


def password_problem(password: str, name: str = "") -> str | None:
    """The error code of a refused password (password_short, password_name, password_weak),
    or None when it may be used."""
    if len(password) < MIN_LENGTH or len(password) > MAX_LENGTH or not password.strip():
        return "password_short"
    name = name.strip()
    if name and "".join(password.split()).casefold() == "".join(name.split()).casefold():
        return "password_name"  # the name with digits or repeated: zxcvbn's user_inputs
    if zxcvbn(password, user_inputs=[name] if name else [])["score"] < MIN_SCORE:
        return "password_weak"
    return None
