"""The one ingestion report (cities.ingest.report): its summary and the Job result a scrape returns."""

from cities.ingest.report import MAX_LISTED, IngestReport


def test_the_summary_counts_every_outcome():
    report = IngestReport(stored=[1, 2])
    report.duplicate("a.jpg", "duplicate of photo #1 (Oslo)", "oslo", existing=1)
    report.reject("b.jpg", "not an image")
    report.error("https://x.org/c.jpg", "HTTP 503", "oslo")
    assert report.summary() == "2 photos stored, 1 duplicate skipped, 1 rejected, 1 failed"
    assert [str(p) for p in report.problems] == ["b.jpg: not an image", "oslo: https://x.org/c.jpg: HTTP 503"]
    report.skipped_unfree = 3
    report.cities = {"oslo": {"had": 4, "target": 10, "stored": 2}}
    assert report.summary().endswith("1 failed, 3 not freely licensed (oslo 6/10)")
    assert IngestReport(stored=[7]).summary() == "1 photo stored, 0 duplicates skipped, 0 rejected, 0 failed"


def test_the_result_caps_its_lists_but_never_its_counts():
    report = IngestReport()
    for i in range(MAX_LISTED + 20):
        report.error(f"https://x.org/{i}.jpg", "HTTP 404", "oslo")
        report.reject(f"{i}.jpg", "not an image")
    result = report.as_result()
    assert result["achieved"] == 0 and len(result["errors"]) == MAX_LISTED
    assert result["failed"] == result["rejected"] == MAX_LISTED + 20
    assert (
        result["message"]
        == f"0 photos stored, 0 duplicates skipped, {MAX_LISTED + 20} rejected, {MAX_LISTED + 20} failed."
    )
