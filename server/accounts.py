"""The rules of accounts, one set for every path that makes or changes one (the admin CLI, the
HTTP API): a valid email address, and a password of at least ``MIN_PASSWORD_CHARS`` characters
that is not one of the commonly used ones nor made of the account's own name or the product's.

Refusals are ``BadRequest`` with a message that says what to change.
"""

from __future__ import annotations

import re

from .errors import BadRequest

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_EMAIL_CHARS = 254  # RFC 5321's limit on a path

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"  # dot-atom local
    rf"@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}"
)

#: Passwords people choose most often (the head of the lists published from breaches), and words
#: of this product; compared without case and without the digits and symbols people add at the
#: end ("Password2024!" is "password").
COMMON_PASSWORDS = frozenset(
    """
    password passwort motdepasse contraseña senha qwerty qwertyuiop qwertyui asdfghjkl asdfgh
    zxcvbnm azerty 123456 1234567 12345678 123456789 1234567890 0987654321 987654321 11111111
    00000000 12341234 11223344 123123123 147258369 159753 789456123 1q2w3e4r 1q2w3e4r5t
    1qaz2wsx zaq12wsx qazwsx qwe123 abc123 abcd1234 abcdefg abcdefgh iloveyou iloveu
    sunshine princess football baseball basketball soccer hockey welcome letmein trustno
    superman batman spiderman starwars pokemon dragon master monkey shadow michael jennifer
    jessica ashley charlie daniel thomas jordan hunter ranger buster summer winter autumn spring
    whatever computer internet freedom secret mustang corvette mercedes ferrari samantha maverick
    changeme default admin administrator root login passw0rd p@ssword p@ssw0rd pa55word pass
    test testing guest user access hello helloworld qwerty123 password1 letmein1 welcome1
    lovely loveme lovers babygirl angel angels flower flowers cookie chocolate butterfly
    cheese pepper ginger banana orange purple silver golden diamond liverpool chelsea arsenal
    london paris berlin newyork america england scotland ireland wedding weddings wedsync
    bride groom marriage marketing campaign photography photographer florist venue
    """.split()
)


def check_email(email: object) -> str:
    """The email address, stripped, if it is one; BadRequest otherwise."""
    if not isinstance(email, str):
        raise BadRequest("the email must be text")
    email = email.strip()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
        raise BadRequest(f"{email[:100]!r} is not an email address (like ana@venue.co.uk)")
    return email


def check_password(password: object, *, email: str | None = None) -> str:
    """The password, if it may be used for ``email``'s account; BadRequest saying why not."""
    if not isinstance(password, str):
        raise BadRequest("the password must be text")
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadRequest(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise BadRequest(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    if len(set(password)) < 4:
        raise BadRequest("the password repeats too few characters; choose a longer phrase")
    core = re.sub(r"[\W\d_]+$", "", password.lower()).replace(" ", "")
    if password.lower() in COMMON_PASSWORDS or core in COMMON_PASSWORDS:
        raise BadRequest("that password is one of the most commonly used; choose another")
    if email:
        local = email.split("@", 1)[0].lower()
        if core in (local, email.lower()) or password.lower() in (local, email.lower()):
            raise BadRequest("the password must not be the email address or its name")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("the password must be valid Unicode text") from None
    return password
