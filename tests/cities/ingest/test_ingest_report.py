"""The one ingestion report (cities.ingest.report): its summary and the Job result a scrape returns."""

from cities.ingest.report import MAX_LISTED, IngestReport


def test_the_summary_counts_every_outcome():
    report = IngestReport(stored=[1, 2])
    report.duplicate("a.jpg", "duplicate of photo #1 (Oslo)", "oslo", existing=1)
    report.reject("b.jpg", "not an image")
    report.error("https://x.org/c.jpg", "HTTP 503", "oslo")
    assert report.summary() == "2 photos stored, 1 duplicate skipped, 1 rejected, 1 failed"
    assert [str(p) for p in report.problems] == ["b.jpg: not an image", "oslo: https://x.org/c.jpg: HTTP 503"]
    report.left_out = {"not freely licensed": 3, "marked mature": 1}
    report.cities = {"oslo": {"had": 4, "target": 10, "stored": 2}}
    assert report.summary().endswith(
        "1 failed, 3 not freely licensed, 1 left out (marked mature) (oslo 6/10)"
    )
    assert report.skipped_unfree == 3
    assert IngestReport(stored=[7]).summary() == "1 photo stored, 0 duplicates skipped, 0 rejected, 0 failed"


def test_the_result_caps_its_lists_but_never_its_counts():
    report = IngestReport()
    for i in range(MAX_LISTED + 20):
        report.error(f"https://x.org/{i}.jpg", "HTTP 404", "oslo")
        report.reject(f"{i}.jpg", "not an image")
    result = report.as_result()
    assert result["achieved"] == 0 and len(result["errors"]) == MAX_LISTED
    assert result["failed"] == result["rejected"] == MAX_LISTED + 20
    n = MAX_LISTED + 20
    assert result["message"] == (
        f"Nothing stored: not an image ({n}); HTTP 404 ({n}). "
        f"0 photos stored, 0 duplicates skipped, {n} rejected, {n} failed."
    )


def test_the_message_says_why_photos_were_not_stored_commonest_first():
    report = IngestReport(stored=[1, 2, 3])
    for reason in ["HTTP 404", "HTTP 429 (too many requests)", "HTTP 404", "not an image", "timed out", "x"]:
        report.error("https://x.org/a.jpg", reason, "oslo")
    assert report.headline().startswith(
        "3 photos stored; 6 others not: HTTP 404 (2); HTTP 429 (too many requests); not an image; "
        "and 2 other reasons. 3 photos stored,"
    )
    assert IngestReport(stored=[1]).headline() == IngestReport(stored=[1]).summary() + "."
