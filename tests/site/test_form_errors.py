"""Form errors are visibly errors: an announced summary (role=alert), each field marked aria-invalid with its
message beside it, in the error style rather than the grey help text's."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.mark.django_db
def test_sign_up_errors_are_announced_and_mark_the_field():
    page = (
        Client()
        .post(
            "/accounts/signup/",
            {"username": "ana", "password1": "a long passphrase 1", "password2": "another passphrase 2"},
        )
        .content.decode()
    )
    summary = page.split('id="form-errors"')[1].split("</div>")[0]
    assert 'role="alert"' in page.split('id="form-errors"')[0][-60:]
    assert "password fields didn" in summary
    field = (
        page.split('id="id_password2"')[0].rsplit("<input", 1)[1] + page.split('id="id_password2"')[1][:200]
    )
    assert 'aria-invalid="true"' in field
    assert 'class="errorlist" id="id_password2_error"' in page
    assert not get_user_model().objects.filter(username="ana").exists()


@pytest.mark.django_db
def test_a_wrong_password_is_an_announced_error():
    get_user_model().objects.create_user("ana", password="the right passphrase")
    page = Client().post("/accounts/login/", {"username": "ana", "password": "wrong"}).content.decode()
    assert 'id="form-errors"' in page and "correct username and password" in page
    assert 'role="alert"' in page


@pytest.mark.django_db
def test_a_clean_form_shows_no_error_box():
    assert 'id="form-errors"' not in Client().get("/accounts/signup/").content.decode()
