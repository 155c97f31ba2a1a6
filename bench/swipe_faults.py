"""The swipe loop under load while the database drops connections: is any acknowledged swipe lost, any
counted twice, any stored state different from a replay of its log, and how many answers were 5xx?

    python -m bench.swipe_faults [--clients 50] [--duration 45] [--kills 4] [--workers 2] [--threads 4]

Starts gunicorn on a free loopback port (as bench/swipe_roundtrip.py does), then runs C clients for a fixed
time: C/2 people with two tabs each (one cookie jar per person, its own connection and card per tab). A
tab likes or nopes its card at random, sometimes posts the same swipe twice (a double click), sometimes
presses undo (which names the swipe it takes back), and reshuffles at the end of a round. A request that
gets a 5xx or no answer is sent once more, as a person clicking again would. Meanwhile this process kills
every other connection to the bench database (pg_terminate_backend) K times, evenly spaced.

Afterwards, for every person: each acknowledged swipe has its row with its photo and answer (none lost);
rows that no answer acknowledged are at most the swipe requests whose answer was lost to a fault (a row
more would be a swipe counted twice); each acknowledged undo left its row undone and nothing else was
undone; swipe_count equals the live rows; and the stored scores equal a replay of the log. The table goes
to bench/results/swipe_faults.md. Profiles in the bench database are wiped first (see swipe_roundtrip).
"""

import argparse
import datetime
import http.client
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import publish, setup_django
from bench.http_load import VirtualUser
from bench.server_harness import free_port, start_gunicorn, stop, wait_for_healthz
from bench.swipe_roundtrip import DEFAULT_ENV, _git_head, wipe_profiles

FIELD_RE = {
    name: re.compile(rb'name="%s" value="(\d+)"' % name) for name in (b"photo", b"round", b"after", b"swipe")
}
UNDO_SHARE, DOUBLE_POST_SHARE = 0.12, 0.15


@dataclass
class Texts:
    """The sentences by which an answer says what happened (swipes.views), as the page shows them."""

    already_rated: bytes
    already_undone: bytes
    nothing_to_undo: bytes

    @classmethod
    def load(cls) -> "Texts":
        from django.utils.html import escape

        from swipes import services, views

        def shown(text):
            return escape(text).encode()

        return cls(
            shown(views.ALREADY_RATED),
            shown(views.UNDO_NOTICES[services.ALREADY_UNDONE]),
            shown(views.UNDO_NOTICES[services.NOTHING]),
        )


@dataclass
class Person:
    """Two tabs' shared browser state, and what the answers acknowledged."""

    seed: int
    cookies: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict = field(default_factory=dict)  # swipe id -> (photo id, liked), from answers that counted it
    # (photo id, round, liked) from answers that said it was already rated: its row exists, id unsaid
    confirmed: set = field(default_factory=set)
    undone: set = field(default_factory=set)  # swipe ids an answer said are undone
    undo_unknown: set = field(default_factory=set)  # undos that got no answer, even the second time
    unanswered_swipes: int = 0  # swipe requests whose answer was lost to a fault (a row may exist)


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)  # HTTP status (0: no answer at all) -> requests
    swipes: int = 0
    double_posts: int = 0
    double_posts_anew: int = 0  # the second post counted: the other tab had undone the first meanwhile
    undos: int = 0
    kills: list = field(default_factory=list)  # connections terminated, per kill
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] += 1


class Tab:
    def __init__(self, person: Person, number: int, port: int, tally: Tally, texts: Texts):
        self.person, self.tally, self.texts = person, tally, texts
        self.user = VirtualUser(port, person.seed)
        self.user.cookies = person.cookies  # one browser: both tabs send and keep the same cookies
        self.random = random.Random(person.seed * 2 + number)
        self.card = b""

    def send(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes]:
        try:
            status, body = self.user.request(method, path, form, htmx=method == "POST")
        except (OSError, http.client.HTTPException):
            self.user.conn.close()
            status, body = 0, b""
        self.tally.count(status)
        return status, body

    def send_twice_if_faulty(self, method, path, form=None) -> tuple[int, bytes, bool]:
        """(status, body, whether the first try's answer was lost): a person clicks again after an error."""
        status, body = self.send(method, path, form)
        if status == 0 or status >= 500:
            status, body = self.send(method, path, form)
            return status, body, True
        return status, body, False

    def field(self, name: bytes) -> int | None:
        match = FIELD_RE[name].search(self.card)
        return int(match.group(1)) if match else None

    def refresh(self) -> None:
        status, body = self.send("GET", "/")
        self.card = body if status == 200 else b""

    def step(self) -> None:
        if not self.card:
            return self.refresh()
        undo_id = self.field(b"swipe")
        if undo_id and self.random.random() < UNDO_SHARE:
            return self.undo(undo_id)
        if self.field(b"photo") is None:
            status, body, _ = self.send_twice_if_faulty("POST", "/reshuffle/")
            self.card = body if status == 200 else b""
            return None
        return self.swipe()

    def swipe(self) -> None:
        photo, liked = self.field(b"photo"), self.random.random() < 0.5
        form = {
            "photo": photo,
            "liked": int(liked),
            "round": self.field(b"round"),
            "after": self.field(b"after"),
        }
        reconnects = self.user.reconnects
        status, body, lost = self.send_twice_if_faulty("POST", "/swipe/", form)
        # A connection that broke mid-request is retried inside VirtualUser.request: its answer was lost too.
        lost += self.user.reconnects - reconnects
        person = self.person
        with self.tally.lock:
            self.tally.swipes += 1
        with person.lock:
            person.unanswered_swipes += lost
            if status == 0 or status >= 500:
                person.unanswered_swipes += 1  # the second try's answer was lost too
        if status == 200 and self.texts.already_rated in body:  # e.g. a retry whose first try was stored
            with person.lock:
                person.confirmed.add((photo, form["round"], liked))
        if self.counted(status, body, photo, liked) and self.random.random() < DOUBLE_POST_SHARE:
            again, again_body = self.send("POST", "/swipe/", form)  # a double click
            # It counts again only if the other tab undid the first one in between: a new row, acknowledged.
            anew = self.counted(again, again_body, photo, liked)
            with self.tally.lock:
                self.tally.double_posts += 1
                self.tally.double_posts_anew += anew
        self.card = body if status in (200, 409) else b""

    def counted(self, status: int, body: bytes, photo: int, liked: bool) -> bool:
        """Whether the answer says the swipe was recorded now; if so, its row is acknowledged."""
        if status != 200 or self.texts.already_rated in body:
            return False
        swipe_id = int(FIELD_RE[b"swipe"].search(body).group(1))  # the new swipe is the latest
        with self.person.lock:
            self.person.acked[swipe_id] = (photo, liked)
        return True

    def undo(self, swipe_id: int) -> None:
        status, body, _ = self.send_twice_if_faulty("POST", "/undo/", {"swipe": swipe_id})
        with self.tally.lock:
            self.tally.undos += 1
        with self.person.lock:
            if status == 0 or status >= 500:
                self.person.undo_unknown.add(swipe_id)
            elif status == 200 and self.texts.nothing_to_undo not in body:
                self.person.undone.add(swipe_id)  # undone now, or already (by the other tab, or a lost try)
        self.card = body if status in (200, 409) else b""


def kill_database_connections() -> int:
    """Terminate every other connection to this database (gunicorn's), as a failover or a DBA would."""
    import psycopg2

    with psycopg2.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        killed = cursor.fetchone()[0]
    conn.close()
    return killed


def run(port: int, people: list[Person], tally: Tally, texts: Texts, duration: float, kills: int) -> float:
    tabs = [Tab(person, number, port, tally, texts) for person in people for number in range(2)]

    def loop(tab):
        while time.monotonic() < started + duration:
            tab.step()

    for tab in tabs[::2]:  # each person opens one tab first: the second carries the visitor cookie
        tab.refresh()
    threads = [threading.Thread(target=loop, args=(tab,)) for tab in tabs]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for k in range(1, kills + 1):
        time.sleep(max(0.0, started + duration * k / (kills + 1) - time.monotonic()))
        tally.kills.append(kill_database_connections())
    for thread in threads:
        thread.join()
    return time.monotonic() - started


# --- what the run left behind ---------------------------------------------------------------------------


@dataclass
class Audit:
    profiles: int = 0
    rows: int = 0
    acknowledged: int = 0  # rows an answer acknowledged: counted (by id) or "already rated" (by photo)
    unanswered: int = 0  # swipe requests whose answer was lost to a fault
    undos_acked: int = 0
    problems: list = field(default_factory=list)


def audit(people: list[Person]) -> Audit:
    import numpy as np

    from swipes.engine import engine_for
    from swipes.models import Swipe, UserProfile
    from swipes.selectors import profile_for_visitor_cookie, replayed_state
    from swipes.visitors import VISITOR_COOKIE

    result = Audit()
    for person in people:
        profile = profile_for_visitor_cookie(person.cookies.get(VISITOR_COOKIE, ""))
        name = f"person {person.seed}"
        if profile is None:
            if person.acked:
                result.problems.append(f"{name}: {len(person.acked)} swipes acknowledged but no profile")
            continue
        result.profiles += 1
        rows = {
            pk: (photo, round_, liked, undone is None)
            for pk, photo, round_, liked, undone in Swipe.objects.filter(profile=profile).values_list(
                "pk", "photo_id", "round", "liked", "undone_at"
            )
        }
        result.rows += len(rows)
        result.unanswered += person.unanswered_swipes
        result.undos_acked += len(person.undone)
        lost = [
            pk for pk, (photo, liked) in person.acked.items() if rows.get(pk, ())[0:3:2] != (photo, liked)
        ]
        triples = Counter(row[:3] for row in rows.values())
        lost += [triple for triple in person.confirmed if not triples[triple]]
        # Rows no counted answer names: each "already rated" answer accounts for one row of its photo; any
        # further one must come from a request whose answer was lost (else it was counted twice).
        nameless = Counter(row[:3] for pk, row in rows.items() if pk not in person.acked)
        unexplained = sum(max(0, n - (triple in person.confirmed)) for triple, n in nameless.items())
        result.acknowledged += len(rows) - unexplained
        wrongly_live = [pk for pk in person.undone if pk in rows and rows[pk][3]]
        kept = person.acked.keys() - person.undone - person.undo_unknown
        wrongly_undone = [pk for pk in kept if pk in rows and not rows[pk][3]]
        live = sum(row[3] for row in rows.values())
        stored = engine_for(profile.scores_model).load_state(profile.scores)
        checks = {
            "acknowledged swipes without their row": len(lost),
            "rows beyond the answers lost to faults (counted twice?)": max(
                0, unexplained - person.unanswered_swipes
            ),
            "acknowledged undos whose row is live": len(wrongly_live),
            "swipes undone without an undo": len(wrongly_undone),
            "swipe_count different from the live rows": int(profile.swipe_count != live),
            "stored state different from the replay": int(
                not np.array_equal(stored, replayed_state(profile, profile.scores_model))
            ),
        }
        result.problems += [f"{name}: {what}: {n}" for what, n in checks.items() if n]
    if orphans := UserProfile.objects.count() - result.profiles:
        result.problems.append(f"all: profiles no person's cookie leads to: {orphans}")
    return result


def report(args, tally: Tally, result: Audit, elapsed: float) -> str:
    fives = sum(n for status, n in tally.statuses.items() if status >= 500)
    statuses = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(tally.statuses.items()))
    ok = not result.problems
    lines = [
        f"## Swipe loop under load with database faults ({datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z},"
        f" commit {_git_head()})",
        "",
        "| clients | run | database kills (connections ended) | requests | 5xx | swipes sent | Swipe rows "
        "| rows acknowledged | rows without an answer | acknowledged but lost | counted twice "
        "| undos acknowledged | profiles | stored = replay |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {2 * (args.clients // 2)} ({args.clients // 2} people × 2 tabs) | {elapsed:.0f} s "
        f"| {len(tally.kills)} ({', '.join(map(str, tally.kills))}) | {sum(tally.statuses.values())} | {fives} "
        f"| {tally.swipes} | {result.rows} | {result.acknowledged} | {result.rows - result.acknowledged} "
        f"(of {result.unanswered} unanswered) | {_count(result.problems, 'without their row')} "
        f"| {_count(result.problems, 'counted twice')} | {result.undos_acked} | {result.profiles} "
        f"| {'all' if not _count(result.problems, 'replay') else 'NO'} |",
        "",
        f"- answers by status: {statuses} (409: a tab's card that the other tab had overtaken, as designed)",
        f"- double posts: {tally.double_posts} (of which {tally.double_posts_anew} counted anew because the "
        f"other tab had undone the first in between); undo requests: {tally.undos}",
        f"- verdict: **{'PASS' if ok else 'FAIL'}**" + ("" if ok else ": " + "; ".join(result.problems[:8])),
        "",
        f"Server: gunicorn vibes_site.wsgi, {args.workers} gthread workers × {args.threads} threads, Postgres "
        f"(CONN_MAX_AGE={os.environ.get('CONN_MAX_AGE')}, health checks on). Load: {args.clients} threads of "
        "keep-alive http.client on loopback in one process; a 5xx or unanswered request is sent once more. "
        f"Kills: every other connection to the bench database, {args.kills} times evenly over the run.",
    ]
    return "\n".join(lines) + "\n"


def _count(problems: list[str], word: str) -> int:
    return sum(int(p.rsplit(": ", 1)[1]) for p in problems if word in p)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="tabs; two per person (default 50)")
    parser.add_argument("--duration", type=float, default=45, help="seconds of load (default 45)")
    parser.add_argument("--kills", type=int, default=4, help="database connection kills (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    args = parser.parse_args(argv)

    for key, value in DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    setup_django()
    from django.db import connections

    from mlworker.selectors import active_model

    if active_model() is None:
        raise SystemExit("no active model: build the bench set first (python -m bench.data)")
    texts = Texts.load()
    wipe_profiles()
    connections.close_all()  # the kills must not end this process's own connection mid-query

    people = [Person(seed) for seed in range(max(1, args.clients // 2))]
    tally = Tally()
    port = free_port()
    server = start_gunicorn(port, args.workers, "gthread", args.threads)
    try:
        wait_for_healthz(port, server)
        print(f"… {len(people)} people × 2 tabs for {args.duration:g} s, {args.kills} kills", flush=True)
        elapsed = run(port, people, tally, texts, args.duration, args.kills)
    finally:
        stop(server)
    result = audit(people)
    publish("swipe_faults", report(args, tally, result, elapsed))
    return 0 if not result.problems else 1


if __name__ == "__main__":
    sys.exit(main())
