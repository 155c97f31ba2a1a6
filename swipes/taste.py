"""A person's taste in words, from the scene words of the photos they liked and skipped (pure, no Django).

"You go for coast, old towns and bridges; you skip skyscrapers." A word counts as a taste when it is on a
clearly larger share of the liked photos than of the skipped ones (and on at least two of them), so a word
that is simply everywhere in the catalogue ("street traffic") says nothing either way.
"""

from dataclasses import dataclass, field

MIN_SWIPES = 6  # fewer than this and any pattern is noise
MIN_PHOTOS = 2  # a taste rests on at least two photos
MIN_LIFT = 0.15  # share of liked photos minus share of skipped photos (or the other way round)
MAX_LIKES, MAX_SKIPS = 3, 2

# Scene words (mlworker.quality.SCENE_WORDS) that name one thing, and read better in the plural here.
_ALREADY_PLURAL_OR_MASS = {"coast", "street traffic", "construction", "food and drink", "winter sports"}
_IRREGULAR = {"library": "libraries", "fairground": "fairgrounds"}

NOT_ENOUGH = "Not enough swipes yet to put your taste into words: like or skip a few more photos."
NO_PATTERN = "No clear pattern yet: you like and skip a bit of everything."


@dataclass(frozen=True)
class Taste:
    sentence: str
    goes_for: list[str] = field(default_factory=list)  # scene words, strongest first
    skips: list[str] = field(default_factory=list)
    enough: bool = False


def plural(word: str) -> str:
    if word in _ALREADY_PLURAL_OR_MASS or word.endswith("s"):
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    return word + ("es" if word.endswith(("ch", "sh", "x")) else "s")


def join_words(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _lifts(
    counts: dict[str, int], other: dict[str, int], total: int, other_total: int
) -> list[tuple[float, str]]:
    """(share here - share there, word) for the words on at least MIN_PHOTOS photos here, largest first."""
    lifts = []
    for word, count in counts.items():
        if count < MIN_PHOTOS:
            continue
        lift = count / total - (other.get(word, 0) / other_total if other_total else 0.0)
        if lift >= MIN_LIFT:
            lifts.append((lift, word))
    return sorted(lifts, key=lambda item: (-item[0], item[1]))


def describe_taste(
    liked_counts: dict[str, int],
    disliked_counts: dict[str, int],
    liked_total: int,
    disliked_total: int,
    subject: str = "you",
) -> Taste:
    """The sentence and the words behind it, from scene-word counts over the liked and the skipped photos.
    `subject` is "you" on your own page and "they" on a ranking someone shared."""
    if liked_total + disliked_total < MIN_SWIPES:
        return Taste(NOT_ENOUGH)
    goes_for = (
        [w for _, w in _lifts(liked_counts, disliked_counts, liked_total, disliked_total)][:MAX_LIKES]
        if liked_total
        else []
    )
    skips = (
        [w for _, w in _lifts(disliked_counts, liked_counts, disliked_total, liked_total)][:MAX_SKIPS]
        if disliked_total
        else []
    )
    parts = []
    if goes_for:
        parts.append(f"{subject} go for " + join_words([plural(w) for w in goes_for]))
    if skips:
        parts.append(f"{subject} skip " + join_words([plural(w) for w in skips]))
    if not parts:
        return Taste(NO_PATTERN, enough=True)
    sentence = "; ".join(parts) + "."
    return Taste(sentence[0].upper() + sentence[1:], goes_for, skips, enough=True)


def shared_tags(tag_lists: list[list[str]], prefer: list[str] = (), limit: int = 3) -> list[str]:
    """The scene words the photos behind a recommendation have in common (on at least two of them, or on
    the only one), the person's taste words first: "coast and bridges" says why better than three photos."""
    counts: dict[str, int] = {}
    for tags in tag_lists:
        for tag in set(tags or []):
            counts[tag] = counts.get(tag, 0) + 1
    needed = 1 if len(tag_lists) == 1 else 2
    common = [word for word, count in counts.items() if count >= needed]
    rank = {word: position for position, word in enumerate(prefer)}  # the strongest taste first
    return sorted(common, key=lambda w: (rank.get(w, len(rank)), -counts[w], w))[:limit]
