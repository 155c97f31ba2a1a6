"""Read a legacy (pre-1.6, non-zip) PyTorch ``.pth`` state dict with NumPy only.

We have no torch in the environment, and ``pickle.load`` on an untrusted file
can run arbitrary code. The loader below therefore uses a restricted
``pickle.Unpickler`` whose ``find_class`` resolves only the handful of names a
state dict needs (``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2``
and the ``torch.*Storage`` types) to local stand-ins. Anything else raises
``pickle.UnpicklingError`` before it is imported, so no pickled code runs.

Legacy file layout (as written by ``torch.save(..., _use_new_zipfile_serialization=False)``):

1. pickled magic number ``0x1950A86A20F9469CFC6C``
2. pickled protocol version (1001)
3. pickled sys-info dict (endianness, type sizes)
4. pickled object (here: the state dict). Tensors reference storages through
   persistent ids ``('storage', StorageType, key, location, size, view_metadata)``
   and are rebuilt by ``_rebuild_tensor_v2(storage, offset, size, stride, ...)``.
5. pickled list of storage keys, in the order their data follows
6. for each key: int64 little-endian element count, then the raw elements.
"""

from __future__ import annotations

import collections
import os
import pickle
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

__all__ = ["LEGACY_MAGIC_NUMBER", "load_legacy_state_dict", "storage_summary"]

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
SUPPORTED_PROTOCOL_VERSION = 1001

# torch storage type name -> little-endian numpy dtype of its elements.
STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for a ``torch.XStorage`` class: only remembers the element dtype."""

    name: str
    dtype: np.dtype


@dataclass
class _StorageRef:
    """A storage named by the pickle; its bytes are only known after the pickle ends."""

    key: str
    dtype: np.dtype
    size: int
    data: np.ndarray | None = None


@dataclass
class _TensorRef:
    """A tensor waiting for its storage data (``_rebuild_tensor_v2`` arguments)."""

    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    extra: tuple = field(default=())

    def materialize(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise pickle.UnpicklingError(f"storage {self.storage.key!r} has no data in the file")
        if not self.shape:
            return np.array(data[self.offset], dtype=data.dtype)
        # Bounds check before as_strided, which would otherwise read foreign memory.
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
        if min(self.shape) > 0 and (self.offset < 0 or last >= data.size or min(self.stride) < 0):
            raise pickle.UnpicklingError(
                f"tensor view (offset={self.offset}, size={self.shape}, stride={self.stride}) "
                f"exceeds storage {self.storage.key!r} of {data.size} elements"
            )
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.shape,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view).copy()


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *extra
):
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError("_rebuild_tensor_v2 called without a storage")
    return _TensorRef(
        storage, int(storage_offset), tuple(int(n) for n in size), tuple(int(s) for s in stride)
    )


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a torch state dict needs."""

    def __init__(self, file: BinaryIO, storages: dict[str, _StorageRef]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name, STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a torch file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, size, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"persistent id names a non-storage type {storage_type!r}")
        if view_metadata is not None:
            # Storage views were removed from torch long ago and never appear in state dicts.
            raise pickle.UnpicklingError("storage views (view_metadata) are not supported")
        key = str(key)
        ref = self._storages.get(key)
        if ref is None:
            ref = self._storages[key] = _StorageRef(key, storage_type.dtype, int(size))
        return ref


def _load_header_value(f: BinaryIO):
    # Header values are plain ints/dicts: no globals at all are allowed here.
    return _RestrictedUnpickler(f, {}).load()


def _read_storage_data(f: BinaryIO, ref: _StorageRef) -> None:
    raw_count = f.read(8)
    if len(raw_count) != 8:
        raise pickle.UnpicklingError(f"file ends before storage {ref.key!r}")
    (count,) = struct.unpack("<q", raw_count)
    if count != ref.size:
        raise pickle.UnpicklingError(f"storage {ref.key!r} holds {count} elements, pickle said {ref.size}")
    nbytes = count * ref.dtype.itemsize
    buf = f.read(nbytes)
    if len(buf) != nbytes:
        raise pickle.UnpicklingError(f"file ends inside storage {ref.key!r}")
    ref.data = np.frombuffer(buf, dtype=ref.dtype)


def _materialize(obj):
    """Replace every _TensorRef inside (nested) containers by a numpy array."""
    if isinstance(obj, _TensorRef):
        return obj.materialize()
    if isinstance(obj, collections.OrderedDict):
        return collections.OrderedDict((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _materialize(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def load_legacy_state_dict(path: str | os.PathLike) -> collections.OrderedDict[str, np.ndarray]:
    """Load a legacy torch state dict file as ``OrderedDict[name, np.ndarray]``.

    Raises ``pickle.UnpicklingError`` for anything that is not a plain legacy
    state dict (zip-format files, foreign globals, truncated data).
    """
    storages: dict[str, _StorageRef] = {}
    with open(path, "rb") as f:
        if f.read(2) == b"PK":
            raise pickle.UnpicklingError(
                f"{path}: zip-format torch file; only the legacy format is supported"
            )
        f.seek(0)
        if _load_header_value(f) != LEGACY_MAGIC_NUMBER:
            raise pickle.UnpicklingError(f"{path}: not a legacy torch file (bad magic number)")
        if _load_header_value(f) != SUPPORTED_PROTOCOL_VERSION:
            raise pickle.UnpicklingError(f"{path}: unsupported torch protocol version")
        sys_info = _load_header_value(f)
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            raise pickle.UnpicklingError(f"{path}: only little-endian files are supported")

        state = _RestrictedUnpickler(f, storages).load()
        keys = _load_header_value(f)
        if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
            raise pickle.UnpicklingError(f"{path}: storage key list does not match the pickled tensors")
        for key in keys:
            _read_storage_data(f, storages[str(key)])

    if not isinstance(state, collections.OrderedDict):
        raise pickle.UnpicklingError(f"{path}: top-level object is not a state dict")
    return _materialize(state)


def storage_summary(path: str | os.PathLike) -> tuple[int, int]:
    """(number of storages, total elements) as recorded in the file's storage section.

    Read independently of the tensors so tests can check that the tensors
    account for every stored element.
    """
    storages: dict[str, _StorageRef] = {}
    with open(path, "rb") as f:
        for _ in range(3):
            _load_header_value(f)
        _RestrictedUnpickler(f, storages).load()
        keys = _load_header_value(f)
        total = 0
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            total += count
            f.seek(count * storages[str(key)].dtype.itemsize, os.SEEK_CUR)
    return len(keys), total
