"""What an ingestion run did: the one report that an upload, a folder import and a scrape all return."""

from collections import Counter
from dataclasses import dataclass, field

MAX_LISTED = 100  # entries of each list in a Job's result; the counts are always exact
MAX_PHOTO_IDS = 1000
MAX_REASONS = 3  # in a job's message: the commonest reasons a photo was not stored
NOT_FREE = "not freely licensed"  # the reason providers give for leaving out a licence we do not take


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


@dataclass(frozen=True)
class Skipped:
    """One file, URL or query that did not become a photo, and why (for people)."""

    name: str  # what a person recognises it by: the file name or path, the URL, the query
    reason: str
    city: str = ""  # the city's slug, where it is known
    existing: int | None = None  # for a duplicate: the photo it duplicates

    def __str__(self) -> str:
        where = f"{self.city}: {self.name}" if self.city else self.name
        return f"{where}: {self.reason}"


@dataclass
class IngestReport:
    """Counts with reasons: stored, duplicates (skipped, harmless), rejected (a file we refused) and errors
    (something we could not fetch or handle). Rejected and errors together are what went wrong."""

    stored: list[int] = field(default_factory=list)  # photo ids, in the order they were stored
    duplicates: list[Skipped] = field(default_factory=list)
    rejected: list[Skipped] = field(default_factory=list)
    errors: list[Skipped] = field(default_factory=list)
    # Scrapes only: each city's photos from the source before the run, and its target.
    cities: dict[str, dict] = field(default_factory=dict)  # slug -> {"had", "target", "stored"}
    # Candidates a provider left out before any download, by reason: {"not freely licensed": 4, ...}.
    left_out: dict[str, int] = field(default_factory=dict)
    announced: int = 0  # how many of `stored` have been handed on for predictions (store.announce_new_photos)

    def duplicate(self, name: str, reason: str, city: str = "", existing: int | None = None) -> None:
        self.duplicates.append(Skipped(name, reason, city, existing))

    def reject(self, name: str, reason: str, city: str = "") -> None:
        self.rejected.append(Skipped(name, reason, city))

    def error(self, name: str, reason: str, city: str = "") -> None:
        self.errors.append(Skipped(name, reason, city))

    @property
    def problems(self) -> list[Skipped]:
        return self.rejected + self.errors

    @property
    def skipped_unfree(self) -> int:
        return self.left_out.get(NOT_FREE, 0)

    def commonest_reasons(self) -> str:
        """ "HTTP 404 (3); not an image (1)": why photos were not stored, commonest first, in words."""
        counts = Counter(problem.reason for problem in self.problems)
        listed = [f"{reason} ({n})" if n > 1 else reason for reason, n in counts.most_common(MAX_REASONS)]
        more = len(counts) - MAX_REASONS
        return "; ".join(listed) + (f"; and {_plural(more, 'other reason')}" if more > 0 else "")

    def headline(self) -> str:
        """The job message: how many were stored and, when some were not, why, before the counts."""
        if not self.problems:
            return f"{self.summary()}."
        if not self.stored:
            return f"Nothing stored: {self.commonest_reasons()}. {self.summary()}."
        not_stored = _plural(len(self.problems), "other")
        return f"{_plural(len(self.stored), 'photo')} stored; {not_stored} not: {self.commonest_reasons()}. {self.summary()}."

    def summary(self) -> str:
        """One line for people, e.g. "3 photos stored, 1 duplicate skipped, 2 rejected, 0 failed"."""
        text = (
            f"{_plural(len(self.stored), 'photo')} stored, {_plural(len(self.duplicates), 'duplicate')} "
            f"skipped, {len(self.rejected)} rejected, {len(self.errors)} failed"
        )
        for reason, n in self.left_out.items():
            if n:
                text += f", {n} {reason}" if reason == NOT_FREE else f", {n} left out ({reason})"
        if self.cities:
            progress = [f"{slug} {c['had'] + c['stored']}/{c['target']}" for slug, c in self.cities.items()]
            text += f" ({', '.join(progress)})"
        return text

    def shortfalls(self) -> list[str]:
        """Scrapes only: the cities that ended below their target. A city the source had nothing for is
        a shortfall too, so a scrape that found no photos at all is never reported as a success."""
        return [
            f"{slug}: {c['had'] + c['stored']} of the {c['target']} photos asked for; the source had no more"
            " that we could use"
            for slug, c in self.cities.items()
            if c["had"] + c["stored"] < c["target"]
        ]

    def as_result(self) -> dict:
        """A Job's result. `achieved` counts the photos stored and `errors` lists what went wrong (and, for a
        scrape, the cities left short), so the job page can tell a run that did nothing useful from one that
        did."""
        return {
            "message": self.headline(),
            "achieved": len(self.stored),
            "errors": [str(problem) for problem in self.problems[:MAX_LISTED]] + self.shortfalls(),
            "stored": len(self.stored),
            "duplicates": len(self.duplicates),
            "rejected": len(self.rejected),
            "failed": len(self.errors),
            "skipped_unfree": self.skipped_unfree,
            "left_out": self.left_out,
            "cities": self.cities,
            "photo_ids": self.stored[:MAX_PHOTO_IDS],
            "duplicate_list": [str(duplicate) for duplicate in self.duplicates[:MAX_LISTED]],
        }
