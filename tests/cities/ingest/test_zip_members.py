"""Bad zip members in the admin upload (finding 7 of issue 10): each one is a per-file error in the report,
never a 500, and the bomb check counts bytes actually inflated, whatever the headers declare."""

import io
import struct
import tracemalloc
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from cities.ingest.upload import read_zip
from cities.models import Photo
from tests.helpers import jpeg_bytes

LOCAL_HEADER, CENTRAL_HEADER = b"PK\x03\x04", b"PK\x01\x02"
# Offsets of the general-purpose flags, the compression method and the uncompressed size in each header.
LOCAL_FIELDS = {"flags": 6, "method": 8, "size": 22}
CENTRAL_FIELDS = {"flags": 8, "method": 10, "size": 24}


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _header_offsets(data: bytes, name: str) -> tuple[int, int, int]:
    """Where `name`'s local header, its data and its central-directory entry start."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    local = archive.getinfo(name).header_offset
    name_length, extra_length = struct.unpack_from("<HH", data, local + 26)
    central = archive.start_dir
    while data[central : central + 4] == CENTRAL_HEADER:
        lengths = struct.unpack_from("<HHH", data, central + 28)  # name, extra field, comment
        if data[central + 46 : central + 46 + lengths[0]] == name.encode():
            return local, local + 30 + name_length + extra_length, central
        central += 46 + sum(lengths)
    raise LookupError(name)


def patched(data: bytes, name: str, **fields: int) -> bytes:
    """`data` with `name`'s header fields (flags, method, size) rewritten in both of its headers."""
    buffer = bytearray(data)
    local, _, central = _header_offsets(data, name)
    for field, value in fields.items():
        fmt = "<I" if field == "size" else "<H"
        struct.pack_into(fmt, buffer, local + LOCAL_FIELDS[field], value)
        struct.pack_into(fmt, buffer, central + CENTRAL_FIELDS[field], value)
    return bytes(buffer)


def with_member_bytes(data: bytes, name: str, offset: int, replacement: bytes) -> bytes:
    """`data` with bytes of `name`'s (compressed) data overwritten, its headers untouched."""
    _, start, _ = _header_offsets(data, name)
    buffer = bytearray(data)
    buffer[start + offset : start + offset + len(replacement)] = replacement
    return bytes(buffer)


def test_the_helpers_patch_a_real_member():
    data = zip_of({"a.jpg": jpeg_bytes(seed=1), "b.jpg": jpeg_bytes(seed=2)})
    info = zipfile.ZipFile(io.BytesIO(patched(data, "b.jpg", method=9, flags=0x1))).getinfo("b.jpg")
    assert (info.compress_type, info.flag_bits & 0x1) == (9, 1)
    assert zipfile.ZipFile(io.BytesIO(data)).read("a.jpg") == jpeg_bytes(seed=1)


def bad_members() -> dict[str, tuple[bytes, str]]:
    """One archive per kind of bad member, next to a good one; the reason each must be refused with."""
    good = {"good.jpg": jpeg_bytes(seed=1)}
    bad = jpeg_bytes(size=(120, 90), seed=2)
    deflated = zip_of({**good, "bad.jpg": bad})
    stored = zip_of({**good, "bad.jpg": bad}, compression=zipfile.ZIP_STORED)
    return {
        # 0xff opens a deflate block of the reserved type 3
        "corrupt-deflate": (with_member_bytes(deflated, "bad.jpg", 0, b"\xff\xff"), "damaged compressed data"),
        "bad-crc": (with_member_bytes(stored, "bad.jpg", 400, b"\x00\x01\x02"), "Bad CRC-32"),
        "deflate64": (patched(deflated, "bad.jpg", method=9), "Deflate64 (zip method 9), which is not supported"),
        "encrypted": (patched(deflated, "bad.jpg", flags=0x1), "encrypted (password-protected)"),
        "lying-size": (patched(deflated, "bad.jpg", size=100), "Bad CRC-32"),
    }  # fmt: skip


@pytest.mark.parametrize("kind", sorted(bad_members()))
def test_read_zip_names_each_bad_member_and_keeps_the_good_ones(kind):
    archive, reason = bad_members()[kind]
    members, rejected = read_zip("set.zip", archive)
    assert [name for name, _ in members] == ["set.zip/good.jpg"]
    assert [r.name for r in rejected] == ["set.zip/bad.jpg"] and reason in rejected[0].reason


@pytest.fixture
def staff_client(client, db):
    admin = get_user_model().objects.create_superuser("admin", password="pw-for-tests-only")
    client.force_login(admin)
    return client


def test_the_admin_upload_lists_every_bad_member_and_stores_nothing(staff_client, make_city):
    uploads = [SimpleUploadedFile(f"{kind}.zip", data) for kind, (data, _) in bad_members().items()]
    response = staff_client.post(
        "/admin/cities/photo/upload/", {"city": make_city("riga").pk, "files": uploads}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Nothing was stored" in page
    for kind, (_, reason) in bad_members().items():
        assert f"{kind}.zip/bad.jpg" in page and reason.split(" (")[0] in page, kind
    assert not Photo.objects.exists()


def test_a_member_whose_header_understates_its_size_is_never_inflated_whole():
    """64 MiB of zeros (64 kB deflated) whose headers say 1000 bytes: zipfile's read() of the member would
    inflate all 64 MiB in one call before cutting it to the declared size."""
    archive = patched(zip_of({"bomb.jpg": b"\0" * 2**26}), "bomb.jpg", size=1000)
    assert len(archive) < 2**17
    tracemalloc.start()
    try:
        members, rejected = read_zip("bomb.zip", archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert members == [] and "Bad CRC-32" in rejected[0].reason
    assert peak < 2**22, f"{peak / 2**20:.0f} MiB allocated while reading a 64 kB archive"


def test_the_archive_is_refused_once_inflated_bytes_pass_the_total_cap(settings):
    settings.MAX_ZIP_BYTES = 100_000
    members = {f"{i}.jpg": jpeg_bytes(size=(200, 200), seed=i) + bytes(30_000) for i in range(5)}
    with pytest.raises(Exception, match="the archive inflates past the upload limit") as caught:
        read_zip("many.zip", zip_of(members))
    assert caught.value.name == "many.zip"


def test_a_member_inflating_past_the_per_image_cap_is_refused_however_it_is_declared(settings):
    settings.MAX_IMAGE_BYTES = 50_000
    archive = zip_of({"zeros.jpg": bytes(200_000), "ok.jpg": jpeg_bytes(seed=3)})
    members, rejected = read_zip("a.zip", archive)
    assert [name for name, _ in members] == ["a.zip/ok.jpg"]
    assert rejected[0].name == "a.zip/zeros.jpg" and "the limit is 0.0 MB" in rejected[0].reason
