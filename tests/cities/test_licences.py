"""The one licence rule (cities/licences.py) and the credit it gives a photo."""

import pytest

from cities.licences import BY, BY_SA, CC0, PUBLIC_DOMAIN, licence_kind, openverse_licence_name
from cities.models import Photo


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("CC0", CC0),
        ("cc0", CC0),
        ("CC Zero", CC0),
        ("CC0 1.0 Universal", CC0),
        ("Public domain", PUBLIC_DOMAIN),
        ("PD-US", PUBLIC_DOMAIN),
        ("pd", PUBLIC_DOMAIN),
        ("pdm", PUBLIC_DOMAIN),
        ("Public Domain Mark 1.0", PUBLIC_DOMAIN),
        ("CC BY 4.0", BY),
        ("cc-by-2.0", BY),
        ("by", BY),
        ("Attribution 2.0", BY),
        ("Attribution License", BY),
        ("CC BY 3.0 IGO", BY),
        ("Creative Commons Attribution 4.0 International", BY),
        ("CC BY-SA 3.0", BY_SA),
        ("CC-BY-SA-2.5", BY_SA),
        ("cc-by-sa-3.0-de", BY_SA),
        ("by-sa", BY_SA),
        ("Attribution-ShareAlike 2.0", BY_SA),
        ("Attribution-ShareAlike License", BY_SA),
    ],
)
def test_cc0_public_domain_cc_by_and_cc_by_sa_are_taken_in_any_version_and_spelling(spelling, kind):
    assert licence_kind(spelling) == kind


@pytest.mark.parametrize(
    "spelling",
    [
        "CC BY-NC 2.0",
        "CC BY-NC-SA 4.0",
        "CC BY-ND 4.0",
        "cc-by-nc-nd-3.0",
        "by-nc",
        "by-nd",
        "nc-sampling+",
        "sampling+",
        "Attribution-NonCommercial-ShareAlike 2.0",
        "Attribution-NonCommercial License",
        "Attribution-NoDerivs 2.0",
        "Attribution-NonCommercial-NoDerivs License",
        "Creative Commons Attribution-NoDerivatives 4.0",
        "Fair use",
        "Non-free",
        "All rights reserved",
        "GFDL",
        "FAL",
        "Copyrighted free use",
        "",
    ],
)
def test_non_commercial_no_derivatives_and_anything_else_are_refused(spelling):
    assert licence_kind(spelling) is None


def test_the_machine_code_decides_and_a_restriction_anywhere_refuses():
    assert licence_kind("cc-by-sa-4.0", "some odd display name") == BY_SA
    assert licence_kind("", "CC BY 2.0") == BY  # no code: the name decides
    assert licence_kind("cc-by-2.0", "Attribution-NonCommercial 2.0") is None
    assert licence_kind("cc-by-sa-4.0", "CC BY-SA 4.0", non_free=True) is None


def test_openverse_codes_become_the_names_a_credit_shows():
    assert openverse_licence_name("by-sa", "2.0") == "CC BY-SA 2.0"
    assert openverse_licence_name("cc0", "1.0") == "CC0 1.0"
    assert openverse_licence_name("pdm", "1.0") == "Public Domain Mark 1.0"
    assert licence_kind(openverse_licence_name("pdm", "1.0")) == PUBLIC_DOMAIN


@pytest.mark.parametrize(
    ("licence", "credit"),
    [
        ("CC BY-SA 4.0", "© Ann · CC BY-SA 4.0 · wikimedia"),
        ("CC0", "Ann · CC0 · wikimedia"),
        ("Public domain", "Ann · Public domain · wikimedia"),
        ("Public Domain Mark 1.0", "Ann · Public Domain Mark 1.0 · wikimedia"),
        ("", "© Ann · wikimedia"),
    ],
)
def test_no_copyright_sign_for_cc0_and_public_domain(licence, credit):
    assert Photo(author="Ann", licence=licence, source="wikimedia").credit_line == credit


def test_the_credit_parts_link_the_source_page_and_the_licence():
    photo = Photo(
        author="Ann",
        licence="CC BY 2.0",
        licence_url="https://creativecommons.org/licenses/by/2.0/",
        source="openverse",
        source_url="https://www.flickr.com/photos/ann/1",
    )
    assert photo.credit_parts == [
        ("© Ann", "https://www.flickr.com/photos/ann/1", "credit"),
        ("CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/", "licence"),
        ("openverse", "", "source"),
    ]
    anonymous = Photo(source="urls", source_url="https://a.org/1.jpg")
    assert anonymous.credit_parts == [("urls", "https://a.org/1.jpg", "credit")]
