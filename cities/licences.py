"""Which licences a photo may come under, and how its credit reads. Pure functions, no Django.

One rule for every provider and every spelling: CC0, the Public Domain Mark or public domain, CC BY and
CC BY-SA, any version or national port. Anything non-commercial (NC) or no-derivatives (ND) is refused in
every spelling ("by-nc", "CC BY-NC-SA 4.0", "Attribution-NonCommercial-ShareAlike 2.0", "Attribution-NoDerivs
2.0"), and so is anything the rule does not name (GFDL, FAL, "all rights reserved", an empty string).
"""

import re

CC0, PUBLIC_DOMAIN, BY, BY_SA = "cc0", "pd", "by", "by-sa"
# No author's rights to assert: the credit names the author without a "©".
NO_RIGHTS_RESERVED = {CC0, PUBLIC_DOMAIN}

# Matched on the normalised text (lower case, punctuation as spaces), anywhere in it.
_RESTRICTED = re.compile(
    r"\b(nc|nd|nc sa|non ?commercial|no ?derivs|no ?derivatives|no derivative works|non ?free|fair use"
    r"|all rights reserved|copyrighted)\b"
)
_VERSION = r"(?: v?\d+(?: \d+)*)?"  # "2.0" became "2 0"
_PORT = r"(?: [a-z]{2,3}(?: [a-z]{2})?)?"  # a national port ("de", "ch fr") or "igo"
_EDITION = r"(?: (?:international|unported|generic|universal|migrated))?"
_LICENSE_WORD = r"(?: licen[cs]e)?"
_TAIL = rf"{_VERSION}{_PORT}{_EDITION}{_LICENSE_WORD}$"
# Tried in this order; each pattern matches the whole normalised text.
_KINDS = (
    (CC0, re.compile(rf"^(?:creative commons )?(?:cc ?0|cc zero|zero){_TAIL}")),
    (CC0, re.compile(r"^cc0 .*(?:public domain dedication|waiver)$")),
    (PUBLIC_DOMAIN, re.compile(r"^(?:pd|pdm|cc pdm|public domain(?: mark)?)(?: [a-z0-9 ]*)?$")),
    (BY_SA, re.compile(rf"^(?:creative commons |cc )?(?:by sa|attribution share ?alike){_TAIL}")),
    (BY, re.compile(rf"^(?:creative commons |cc )?(?:by|attribution){_TAIL}")),
)


def normalise(text: str) -> str:
    """ "CC-BY-SA-3.0-de" -> "cc by sa 3 0 de"; "Attribution-NonCommercial 2.0" -> "attribution noncommercial 2 0"."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).split())


def licence_kind(*spellings: str, non_free: bool = False) -> str | None:
    """CC0, PUBLIC_DOMAIN, BY or BY_SA for a licence we take; None for any other.

    `spellings` are what a source says, most reliable first: a machine code (Commons' `License`,
    Openverse's `license`), then a name. The first one given decides, but a restriction (NC, ND, non-free)
    in any of them refuses the file, as does the source's own non-free flag."""
    given = [normalise(s) for s in spellings if s and s.strip()]
    if non_free or not given or any(_RESTRICTED.search(text) for text in given):
        return None
    for kind, pattern in _KINDS:
        if pattern.match(given[0]):
            return kind
    return None


def is_free_licence(*spellings: str, non_free: bool = False) -> bool:
    return licence_kind(*spellings, non_free=non_free) is not None


def credited_author(author: str, licence: str) -> str:
    """ "© Jane" for a licence that keeps the author's rights (or an unknown one); "Jane" for CC0 and PD."""
    if not author:
        return ""
    return author if licence_kind(licence) in NO_RIGHTS_RESERVED else f"© {author}"


# Openverse's licence codes and the names a credit shows for them.
_OPENVERSE_NAMES = {"cc0": "CC0", "pdm": "Public Domain Mark", "by": "CC BY", "by-sa": "CC BY-SA"}


def openverse_licence_name(code: str, version: str = "") -> str:
    """ "by-sa", "2.0" -> "CC BY-SA 2.0"; "pdm", "1.0" -> "Public Domain Mark 1.0"; unknown codes upper-cased."""
    code = (code or "").strip().lower()
    name = _OPENVERSE_NAMES.get(code) or f"CC {code.upper()}"
    return f"{name} {version}".strip() if version else name
