"""A swipe or an undo whose database connection dies mid-request (a failover, a restart, an administrator
ending connections) is answered normally and counts once: the view runs once more on a new connection,
and because both name what they change, the second run does it or finds it done."""

import pytest
from django.db import connection
from django.test import Client

from swipes.models import Swipe, UserProfile

from .cards import HX, shown_photo_id, swipe_count, undo_target

# The first matching write ends its own connection, as pg_terminate_backend from outside would; later
# writes go through. The sequence is not transactional, so the rollback does not rearm it.
FAULT = """
CREATE SEQUENCE fault_once;
CREATE FUNCTION end_my_connection_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('fault_once') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER end_my_connection_once BEFORE {event} ON swipes_swipe
FOR EACH ROW EXECUTE FUNCTION end_my_connection_once();
"""
CLEAN_UP = """
DROP TRIGGER IF EXISTS end_my_connection_once ON swipes_swipe;
DROP FUNCTION IF EXISTS end_my_connection_once();
DROP SEQUENCE IF EXISTS fault_once;
"""


@pytest.fixture
def connection_dies_once(transactional_db):
    def arm(event: str):
        with connection.cursor() as cursor:
            cursor.execute(FAULT.format(event=event))

    yield arm
    connection.close()  # whatever state the fault left it in
    with connection.cursor() as cursor:
        cursor.execute(CLEAN_UP)


def fault_fired() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM fault_once")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_swipe_whose_connection_dies_is_answered_and_counts_once(photo_set, connection_dies_once):
    photo_set()
    client = Client()
    photo_id = shown_photo_id(client.get("/"))
    connection_dies_once("INSERT")
    response = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    assert response.status_code == 200 and swipe_count(response) == 1
    assert fault_fired() == 2  # the first insert ended its connection; the second run's went through
    assert list(Swipe.objects.values_list("photo_id", "liked")) == [(photo_id, True)]
    assert UserProfile.objects.get().swipe_count == 1


@pytest.mark.django_db(transaction=True)
def test_an_undo_whose_connection_dies_is_answered_and_undoes_once(photo_set, connection_dies_once):
    photo_set()
    client = Client()
    card = client.get("/")
    for liked in ("1", "0"):
        card = client.post("/swipe/", {"photo": shown_photo_id(card), "liked": liked}, **HX)
    connection_dies_once("UPDATE")
    response = client.post("/undo/", {"swipe": undo_target(card)}, **HX)
    assert response.status_code == 200 and swipe_count(response) == 1
    assert fault_fired() == 2
    assert Swipe.objects.filter(undone_at__isnull=False).count() == 1
