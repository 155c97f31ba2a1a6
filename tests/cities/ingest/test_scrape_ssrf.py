"""The SSRF guard and the politeness rules of the scraper's HTTP client (cities/ingest/safe_http.py)."""

import shutil
import subprocess
import time

import pytest

from cities.ingest.safe_http import (
    FetchError,
    HostRateLimiter,
    SafeFetcher,
    TooLarge,
    UnsafeURL,
    check_url,
    classify_address,
)
from tests.fakeweb import FakeWeb, encode, fail_first, photo_like, sleep_then, stream_forever

JPEG = ("image/jpeg",)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1%eth0", "link-local"),
        ("fd00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:0a00:0001::1", "private"),  # 6to4 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused_with_a_reason(address, reason):
    assert classify_address(address) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "208.80.154.224", "2620:0:861:ed1a::1", "1.1.1.1"])
def test_public_addresses_pass(address):
    assert classify_address(address) is None


def test_the_loopback_switch_allows_loopback_and_nothing_else():
    assert classify_address("127.0.0.1", allow_loopback=True) is None
    assert classify_address("::1", allow_loopback=True) is None
    for address in ("10.0.0.1", "169.254.169.254", "0.0.0.0", "192.168.0.10"):
        assert classify_address(address, allow_loopback=True) is not None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.jpg", "gopher://x/", "//x/a.jpg"])
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(UnsafeURL, match="only http and https"):
        check_url(url, allow_loopback=True)


def test_a_literal_private_address_is_refused_before_any_connection():
    with pytest.raises(UnsafeURL, match="169.254.169.254, a link-local address"):
        check_url("http://169.254.169.254/latest/meta-data/", allow_loopback=True)


def test_a_checked_target_connects_to_the_checked_address():
    target = check_url("http://localhost:8080/a.jpg?x=1", allow_loopback=True)
    assert target.address in ("127.0.0.1", "::1")
    assert target.host_header == "localhost:8080"
    assert target.request_target == "/a.jpg?x=1"


def test_the_connection_goes_to_the_checked_address_and_the_name_is_not_asked_again(
    scrape_settings, fake_web, fake_dns
):
    """DNS rebinding: a name that answers the checked address first and another one next time. The client
    connects to the address it checked; were it to resolve the name again when connecting, it would get
    127.0.0.3 (where nothing listens; the stand-in for an internal address) and fail."""
    body = encode(photo_like(6))
    fake_web.serve("/rebind.jpg", body)
    port = fake_web.server.server_address[1]
    fake_dns.answers["photos.rebind.test"] = [["127.0.0.1"], ["127.0.0.3"]]
    with SafeFetcher() as fetcher:
        fetched = fetcher.get(f"http://photos.rebind.test:{port}/rebind.jpg", accept=JPEG, max_bytes=10**6)
    assert fetched.body == body and fake_web.hits["/rebind.jpg"] == 1
    assert fake_dns.asked["photos.rebind.test"] == 1


def test_one_private_address_among_the_answers_is_refused_before_connecting(
    scrape_settings, fake_web, fake_dns
):
    """Every address a name resolves to is checked, not only the first (which is the one we would use)."""
    fake_web.serve("/mixed.jpg", encode(photo_like(7)))
    port = fake_web.server.server_address[1]
    fake_dns.answers["mixed.test"] = [["127.0.0.1", "10.0.0.1"]]
    with (
        SafeFetcher() as fetcher,
        pytest.raises(UnsafeURL, match="mixed.test resolves to 10.0.0.1, a private"),
    ):
        fetcher.get(f"http://mixed.test:{port}/mixed.jpg", accept=JPEG, max_bytes=10**6)
    assert fake_web.hits["/mixed.jpg"] == 0


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (["93.184.215.14", "10.0.0.1"], "10.0.0.1, a private"),
        (["10.0.0.1", "93.184.215.14"], "10.0.0.1, a private"),
        (["93.184.215.14", "1.1.1.1", "169.254.169.254"], "169.254.169.254, a link-local"),
        (["2620:0:861:ed1a::1", "fd00::1"], "fd00::1, a private"),
    ],
)
def test_any_non_public_answer_refuses_the_name(fake_dns, answer, refused):
    fake_dns.answers["mixed.test"] = [answer]
    with pytest.raises(UnsafeURL, match=f"mixed.test resolves to {refused} address"):
        check_url("http://mixed.test/a.jpg", allow_loopback=False)


def test_with_the_switch_off_even_the_local_server_is_refused(scrape_settings, fake_web):
    scrape_settings.SCRAPE_ALLOW_LOOPBACK = False
    url = fake_web.serve("/a.jpg", encode(photo_like(1)))
    with SafeFetcher() as fetcher, pytest.raises(UnsafeURL, match="loopback"):
        fetcher.get(url, accept=JPEG, max_bytes=10**6)
    assert fake_web.hits["/a.jpg"] == 0


def test_a_redirect_to_a_private_address_is_refused(scrape_settings, fake_web):
    for target in ("http://10.0.0.1/secret.jpg", "http://169.254.169.254/latest/meta-data/"):
        url = fake_web.serve("/hop", status=302, headers={"Location": target}, content_type="text/plain")
        with SafeFetcher() as fetcher, pytest.raises(UnsafeURL, match="private|link-local") as caught:
            fetcher.get(url, accept=JPEG, max_bytes=10**6)
        assert caught.value.url == target
    assert fake_web.hits["/hop"] == 2


def test_redirects_are_followed_hop_by_hop_and_capped(scrape_settings, fake_web):
    body = encode(photo_like(2))
    fake_web.serve("/final.jpg", body)
    fake_web.serve("/b", status=301, headers={"Location": "/final.jpg"}, content_type="text/plain")
    first = fake_web.serve(
        "/a", status=302, headers={"Location": fake_web.url("/b")}, content_type="text/plain"
    )
    with SafeFetcher() as fetcher:
        fetched = fetcher.get(first, accept=JPEG, max_bytes=10**6)
    assert fetched.body == body and fetched.url.endswith("/final.jpg")

    scrape_settings.SCRAPE_MAX_REDIRECTS = 3
    loop = fake_web.serve("/loop", status=302, headers={"Location": "/loop"}, content_type="text/plain")
    with SafeFetcher() as fetcher, pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.get(loop, accept=JPEG, max_bytes=10**6)
    assert fake_web.hits["/loop"] == 4


def test_a_500_then_success_is_retried(scrape_settings, fake_web):
    body = encode(photo_like(3))
    url = fake_web.serve("/flaky.jpg", handler=fail_first(1, body))
    with SafeFetcher() as fetcher:
        assert fetcher.get(url, accept=JPEG, max_bytes=10**6).body == body
    assert fake_web.hits["/flaky.jpg"] == 2


def test_retries_are_bounded_and_4xx_is_not_retried(scrape_settings, fake_web):
    broken = fake_web.serve("/down.jpg", handler=fail_first(99, b"", status=503))
    missing = fake_web.serve("/gone.jpg", status=404, content_type="text/plain")
    with SafeFetcher() as fetcher:
        with pytest.raises(FetchError, match="HTTP 503"):
            fetcher.get(broken, accept=JPEG, max_bytes=10**6)
        with pytest.raises(FetchError, match="HTTP 404"):
            fetcher.get(missing, accept=JPEG, max_bytes=10**6)
    assert fake_web.hits["/down.jpg"] == 1 + scrape_settings.SCRAPE_RETRIES
    assert fake_web.hits["/gone.jpg"] == 1


def test_a_slow_response_times_out(scrape_settings, fake_web):
    scrape_settings.SCRAPE_READ_TIMEOUT = 0.3
    scrape_settings.SCRAPE_RETRIES = 1
    url = fake_web.serve("/slow.jpg", handler=sleep_then(3, encode(photo_like(4))))
    started = time.monotonic()
    with SafeFetcher() as fetcher, pytest.raises(FetchError, match="timed out"):
        fetcher.get(url, accept=JPEG, max_bytes=10**6)
    assert time.monotonic() - started < 2.5
    assert fake_web.hits["/slow.jpg"] == 2  # a timeout counts as transient: tried twice


def test_a_huge_body_is_cut_off_at_the_limit_while_streaming(scrape_settings, fake_web):
    limit = 1024 * 1024
    url = fake_web.serve(
        "/huge.jpg", handler=stream_forever(60 * 1024 * 1024, fake_web.bytes_sent, "/huge.jpg")
    )
    with SafeFetcher() as fetcher, pytest.raises(TooLarge, match="passed the limit of 1,048,576 bytes"):
        fetcher.get(url, accept=JPEG, max_bytes=limit)
    time.sleep(0.3)  # let the server notice the hang-up
    # Socket buffers let the server push a few MB more before it notices; never anywhere near 60 MB.
    assert fake_web.bytes_sent["/huge.jpg"] < 16 * 1024 * 1024


def test_an_announced_size_over_the_limit_is_refused_before_reading(scrape_settings, fake_web):
    url = fake_web.serve("/big.jpg", b"x" * 5000)
    with SafeFetcher() as fetcher, pytest.raises(TooLarge, match="announces 5,000 bytes"):
        fetcher.get(url, accept=JPEG, max_bytes=4000)


def test_the_content_type_must_be_one_asked_for(scrape_settings, fake_web):
    url = fake_web.serve("/page", b"<html></html>", content_type="text/html; charset=utf-8")
    with SafeFetcher() as fetcher, pytest.raises(FetchError, match="content type 'text/html'"):
        fetcher.get(url, accept=JPEG, max_bytes=10**6)


def test_requests_carry_the_configured_user_agent(scrape_settings, fake_web):
    seen = {}

    def handler(request):
        seen["ua"] = request.headers["User-Agent"]
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.send_header("Content-Length", "1")
        request.end_headers()
        request.wfile.write(b"x")

    scrape_settings.SCRAPE_USER_AGENT = "CityVibesTest/0.1 (https://example.org; ops@example.org)"
    with SafeFetcher() as fetcher:
        fetcher.get(fake_web.serve("/ua.jpg", handler=handler), accept=JPEG, max_bytes=10)
    assert seen["ua"].startswith("CityVibesTest/0.1 (https://example.org; ops@example.org) urllib3/")


def test_the_per_host_rate_limit_spaces_requests():
    limiter = HostRateLimiter(0.15)
    started = time.monotonic()
    for _ in range(3):
        limiter.wait("upload.example.org")
    limiter.wait("other.example.org")  # another host is not held up
    assert 0.29 <= time.monotonic() - started < 1.0  # two gaps of 0.15 s; generous for a busy machine


@pytest.fixture
def localhost_certificate(tmp_path):
    """A self-signed certificate for the name "localhost" only (made with the openssl command)."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_https_connects_to_the_checked_address_and_still_verifies_the_host_name(
    scrape_settings, localhost_certificate
):
    web = FakeWeb(tls=localhost_certificate).start()
    try:
        body = encode(photo_like(5))
        url = web.serve("/tls.jpg", body)
        assert url.startswith("https://localhost:")
        with SafeFetcher(ca_certs=localhost_certificate[0]) as fetcher:
            assert fetcher.get(url, accept=JPEG, max_bytes=10**6).body == body
            # The same server under a name its certificate does not carry: refused.
            with pytest.raises(FetchError, match="TLS error") as caught:
                fetcher.get(url.replace("localhost", "127.0.0.1"), accept=JPEG, max_bytes=10**6)
            assert "127.0.0.1" in caught.value.reason and "match" in caught.value.reason
        with SafeFetcher() as fetcher, pytest.raises(FetchError, match="TLS error"):
            fetcher.get(url, accept=JPEG, max_bytes=10**6)  # not signed by a CA the system trusts
    finally:
        web.stop()
