"""The zip container of PyTorch checkpoints: a strict reader and a writer of torch's layout.

The reader parses the central directory itself (Python's ``zipfile`` refuses files saved with CRCs
off) and checks every member before anything is read: safe names, no duplicates, local headers
that agree with the central directory, data inside the file and not overlapping. Stored members
are read by offset; deflated ones only up to a hard output cap.

The writer reproduces what torch 2.13 (miniz) writes byte for byte: stored members whose data
starts at a multiple of 64 (an ``FB`` extra field of ``Z`` padding), a data descriptor after each
non-empty member, zero dates, and the ZIP64 end records.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from ._errors import CheckpointError, UnsafeCheckpointError

__all__ = ["ZipEntry", "ZipReader", "ZipWriter", "ALIGNMENT"]

ALIGNMENT = 64
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 46 bytes
_EOCD = struct.Struct("<4sHHHHIIH")  # 22 bytes
_Z64_EOCD = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
_Z64_LOCATOR = struct.Struct("<4sIQI")  # 20 bytes
_LOCAL_SIG, _CENTRAL_SIG = b"PK\x03\x04", b"PK\x01\x02"
_EOCD_SIG, _Z64_EOCD_SIG, _Z64_LOC_SIG = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_U32, _U16 = 0xFFFFFFFF, 0xFFFF
# Overridable by tests, so the ZIP64 paths can be exercised without writing 4 GB.
_ZIP64_LIMIT = _U32
_MAX_ENTRIES = 1_000_000
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class ZipEntry:
    """One member, as the central directory describes it (offsets from the archive start)."""

    name: str
    header_offset: int
    data_offset: int
    compressed_size: int
    size: int
    method: int
    crc: int


def _check_name(name: str) -> None:
    if not name:
        raise UnsafeCheckpointError("zip member with an empty name")
    if "\x00" in name or "\\" in name:
        raise UnsafeCheckpointError(f"zip member name {name!r} contains a NUL or a backslash")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeCheckpointError(f"zip member name {name!r} is an absolute path")
    if any(part in ("..", ".") for part in name.split("/")):
        raise UnsafeCheckpointError(f"zip member name {name!r} contains a '..' or '.' component")


class ZipReader:
    """Read the members of a zip archive from a seekable binary file.

    Args:
        f: the open file, positioned anywhere; the archive must start at offset 0.
        inflate_cap: the most bytes all deflated members together may inflate to.
    """

    def __init__(self, f: BinaryIO, *, inflate_cap: int | None = None) -> None:
        self._f = f
        f.seek(0, 2)
        self.file_size = f.tell()
        # A deflate bomb is refused before inflating past this many bytes in total.
        self._inflate_left = (
            inflate_cap if inflate_cap is not None else 64 * 2**20 + 8 * self.file_size
        )
        self.entries: dict[str, ZipEntry] = {}
        self._parse()

    # ---- low-level reads ----------------------------------------------------------------
    def _read_at(self, offset: int, n: int, what: str) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.file_size:
            raise CheckpointError(f"zip archive is truncated: {what} lies past the end of the file")
        self._f.seek(offset)
        data = self._f.read(n)
        if len(data) != n:
            raise CheckpointError(f"zip archive is truncated: could not read {what}")
        return data

    # ---- central directory ----------------------------------------------------------------
    def _find_end_record(self) -> tuple[int, tuple]:
        tail_len = min(self.file_size, _EOCD.size + _U16)
        tail = self._read_at(self.file_size - tail_len, tail_len, "the end of the archive")
        pos = tail.rfind(_EOCD_SIG)
        while pos >= 0:
            if pos + _EOCD.size <= len(tail):
                rec = _EOCD.unpack_from(tail, pos)
                if pos + _EOCD.size + rec[7] <= len(tail):
                    return self.file_size - tail_len + pos, rec
            pos = tail.rfind(_EOCD_SIG, 0, pos)
        raise CheckpointError(
            "zip archive is damaged: failed finding central directory (no end-of-archive record)"
        )

    def _parse(self) -> None:
        eocd_pos, rec = self._find_end_record()
        _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, _ = rec
        records_start = eocd_pos
        loc_pos = eocd_pos - _Z64_LOCATOR.size
        if loc_pos >= 0:
            loc = _Z64_LOCATOR.unpack(self._read_at(loc_pos, _Z64_LOCATOR.size, "ZIP64 locator"))
            if loc[0] == _Z64_LOC_SIG:
                z64_pos = loc[2]
                if z64_pos + _Z64_EOCD.size > loc_pos:
                    raise CheckpointError("zip archive is damaged: bad ZIP64 end record offset")
                z = _Z64_EOCD.unpack(self._read_at(z64_pos, _Z64_EOCD.size, "ZIP64 end record"))
                if z[0] != _Z64_EOCD_SIG:
                    raise CheckpointError("zip archive is damaged: bad ZIP64 end record signature")
                disk, cd_disk, n_disk, n_total, cd_size, cd_offset = z[4:10]
                records_start = z64_pos
        if disk != 0 or cd_disk != 0 or n_disk != n_total:
            raise CheckpointError("multi-disk zip archives are not supported")
        if n_total > _MAX_ENTRIES or n_total * _CENTRAL.size > cd_size:
            raise CheckpointError("zip archive is damaged: implausible number of entries")
        if cd_offset + cd_size > records_start:
            raise CheckpointError("zip archive is damaged: central directory past its end record")
        cd = self._read_at(cd_offset, cd_size, "central directory")
        pos = 0
        for _ in range(n_total):
            entry = self._parse_central(cd, pos)
            pos = entry[1]
            e = entry[0]
            if e.name in self.entries:
                raise UnsafeCheckpointError(f"duplicate zip member name {e.name!r}")
            self.entries[e.name] = e
        # Data ranges must lie before the central directory and must not overlap.
        prev_end, prev_name = 0, None
        for e in sorted(self.entries.values(), key=lambda e: e.header_offset):
            if e.header_offset < prev_end:
                raise UnsafeCheckpointError(
                    f"zip members {prev_name!r} and {e.name!r} overlap in the file"
                )
            prev_end, prev_name = e.data_offset + e.compressed_size, e.name
            if prev_end > cd_offset:
                raise CheckpointError(
                    f"zip archive is damaged: data of member {e.name!r} runs past the "
                    "central directory"
                )

    def _parse_central(self, cd: bytes, pos: int) -> tuple[ZipEntry, int]:
        if pos + _CENTRAL.size > len(cd):
            raise CheckpointError("zip archive is damaged: central directory is truncated")
        f = _CENTRAL.unpack_from(cd, pos)
        (sig, _, _, flags, method, _, _, crc, csize, usize, nlen, elen, clen, _, _, _, lho) = f
        if sig != _CENTRAL_SIG:
            raise CheckpointError("zip archive is damaged: bad central directory entry signature")
        end = pos + _CENTRAL.size + nlen + elen + clen
        if end > len(cd):
            raise CheckpointError("zip archive is damaged: central directory is truncated")
        raw_name = cd[pos + _CENTRAL.size : pos + _CENTRAL.size + nlen]
        extra = cd[pos + _CENTRAL.size + nlen : pos + _CENTRAL.size + nlen + elen]
        try:
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError:
            raise UnsafeCheckpointError(
                f"zip member name {raw_name!r} is not valid UTF-8"
            ) from None
        _check_name(name)
        if flags & 0x1:
            raise CheckpointError(f"zip member {name!r} is encrypted")
        if usize == _U32 or csize == _U32 or lho == _U32:
            usize, csize, lho = self._zip64_extra(extra, name, usize, csize, lho)
        if method not in (0, 8):
            raise CheckpointError(f"zip member {name!r} uses unsupported compression {method}")
        if method == 0 and csize != usize:
            raise CheckpointError(f"zip member {name!r} is stored but its two sizes differ")
        local = _LOCAL.unpack(self._read_at(lho, _LOCAL.size, f"local header of {name!r}"))
        lsig, _, lflags, lmethod, _, _, _, lcsize, lusize, lnlen, lelen = local
        if lsig != _LOCAL_SIG:
            raise CheckpointError(f"zip archive is damaged: bad local header for {name!r}")
        if self._read_at(lho + _LOCAL.size, lnlen, f"local name of {name!r}") != raw_name:
            raise UnsafeCheckpointError(
                f"zip member {name!r}: local header name disagrees with the central directory"
            )
        if lmethod != method:
            raise UnsafeCheckpointError(
                f"zip member {name!r}: local header method disagrees with the central directory"
            )
        if not lflags & 0x8 and (lcsize, lusize) != (csize, usize) and _U32 not in (lcsize, lusize):
            raise UnsafeCheckpointError(
                f"zip member {name!r}: local header sizes disagree with the central directory"
            )
        data_offset = lho + _LOCAL.size + lnlen + lelen
        if data_offset + csize > self.file_size:
            raise CheckpointError(f"zip archive is truncated: data of member {name!r} is cut off")
        return ZipEntry(name, lho, data_offset, csize, usize, method, crc), end

    @staticmethod
    def _zip64_extra(extra: bytes, name: str, usize: int, csize: int, lho: int):
        pos = 0
        while pos + 4 <= len(extra):
            hid, hlen = struct.unpack_from("<HH", extra, pos)
            body = extra[pos + 4 : pos + 4 + hlen]
            if hid == 1:
                vals, i = [], 0
                for v in (usize, csize, lho):
                    if v == _U32:
                        if i + 8 > len(body):
                            raise CheckpointError(f"zip member {name!r}: bad ZIP64 extra field")
                        v = struct.unpack_from("<Q", body, i)[0]
                        i += 8
                    vals.append(v)
                return tuple(vals)
            pos += 4 + hlen
        raise CheckpointError(f"zip member {name!r}: missing ZIP64 extra field")

    # ---- member access ----------------------------------------------------------------
    def names(self) -> list[str]:
        """Member names in central-directory order."""
        return list(self.entries)

    def read(self, name: str, *, check_crc: bool = True) -> bytes:
        """The (inflated) bytes of member ``name``."""
        e = self.entries[name]
        raw = self._read_at(e.data_offset, e.compressed_size, f"member {name!r}")
        data = raw if e.method == 0 else self._inflate(e, raw)
        if check_crc:
            self._check_crc(e, data)
        return data

    def read_into(self, name: str, out: memoryview, *, check_crc: bool = True) -> None:
        """Fill ``out`` (exactly the member's size) with member ``name``, without a copy."""
        e = self.entries[name]
        if len(out) != e.size:
            raise CheckpointError(f"zip member {name!r} has {e.size} bytes, expected {len(out)}")
        if e.method != 0:
            out[:] = self.read(name, check_crc=check_crc)
            return
        self._f.seek(e.data_offset)
        got = 0
        readinto = getattr(self._f, "readinto", None)
        while got < e.size:
            if readinto is not None:
                n = readinto(out[got:])
            else:
                chunk = self._f.read(e.size - got)
                n = len(chunk)
                out[got : got + n] = chunk
            if not n:
                raise CheckpointError(f"zip archive is truncated: member {name!r} is cut off")
            got += n
        if check_crc:
            self._check_crc(e, out)

    def _inflate(self, e: ZipEntry, raw: bytes) -> bytes:
        if e.size > self._inflate_left:
            raise UnsafeCheckpointError(
                f"zip member {e.name!r} inflates to {e.size} bytes, over the cap of "
                f"{self._inflate_left} bytes (deflate bomb?)"
            )
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(raw, e.size + 1)
        except zlib.error as exc:
            raise CheckpointError(f"zip member {e.name!r}: corrupt deflate data ({exc})") from None
        if len(out) != e.size or not d.eof:
            raise UnsafeCheckpointError(
                f"zip member {e.name!r}: inflated size differs from the declared {e.size} bytes"
            )
        self._inflate_left -= e.size
        return out

    @staticmethod
    def _check_crc(e: ZipEntry, data) -> None:
        # A zero CRC means "not computed" (torch's set_crc32_options(False)).
        if e.crc and zlib.crc32(data) != e.crc:
            raise CheckpointError(f"zip member {e.name!r} is damaged: CRC-32 mismatch")


class ZipWriter:
    """Write stored members in torch's exact layout; call :meth:`finish` once at the end."""

    def __init__(self, f: BinaryIO, *, compute_crc: bool = True) -> None:
        self._f = f
        self._pos = 0
        self._crc = compute_crc
        self._central: list[bytes] = []

    def _emit(self, data) -> None:
        self._f.write(data)
        self._pos += len(data)

    def write(self, name: str, data) -> None:
        """Append member ``name`` holding the bytes-like ``data`` (written without a copy)."""
        mv = memoryview(data).cast("B")
        size, offset = len(mv), self._pos
        raw_name = name.encode("utf-8")
        big_size, big_offset = size >= _ZIP64_LIMIT, offset >= _ZIP64_LIMIT
        z64 = b""
        if big_size or big_offset:
            body = (struct.pack("<QQ", size, size) if big_size else b"") + (
                struct.pack("<Q", offset) if big_offset else b""
            )
            z64 = struct.pack("<HH", 1, len(body)) + body
        start = offset + _LOCAL.size + len(raw_name) + len(z64) + 4
        pad = -start % ALIGNMENT
        extra = z64 + b"FB" + struct.pack("<H", pad) + b"Z" * pad
        flags = 0x0808 if size else 0x0800
        lsize = _U32 if big_size else 0
        self._emit(
            _LOCAL.pack(_LOCAL_SIG, 0, flags, 0, 0, 0, 0, lsize, lsize, len(raw_name), len(extra))
        )
        self._emit(raw_name)
        self._emit(extra)
        crc = zlib.crc32(mv) if self._crc else 0
        if size:
            self._emit(mv)
            if big_size or big_offset:
                self._emit(_DESCRIPTOR_SIG + struct.pack("<IQQ", crc, size, size))
            else:
                self._emit(_DESCRIPTOR_SIG + struct.pack("<III", crc, size, size))
        csize = _U32 if big_size else size
        cz64 = b""
        if big_size or big_offset:
            body = (struct.pack("<QQ", size, size) if big_size else b"") + (
                struct.pack("<Q", offset) if big_offset else b""
            )
            cz64 = struct.pack("<HH", 1, len(body)) + body
        lho = _U32 if big_offset else offset
        self._central.append(
            _CENTRAL.pack(
                _CENTRAL_SIG,
                0,
                0,
                flags,
                0,
                0,
                0,
                crc,
                csize,
                csize,
                len(raw_name),
                len(cz64),
                0,
                0,
                0,
                0,
                lho,
            )  # fmt: skip
            + raw_name
            + cz64
        )

    def finish(self) -> None:
        """Write the central directory and the ZIP64 and classic end records."""
        cd_offset = self._pos
        for rec in self._central:
            self._emit(rec)
        cd_size = self._pos - cd_offset
        n = len(self._central)
        z64_offset = self._pos
        self._emit(
            _Z64_EOCD.pack(_Z64_EOCD_SIG, 44, 0x031E, 0x002D, 0, 0, n, n, cd_size, cd_offset)
        )
        self._emit(_Z64_LOCATOR.pack(_Z64_LOC_SIG, 0, z64_offset, 1))
        self._emit(
            _EOCD.pack(
                _EOCD_SIG,
                0,
                0,
                min(n, _U16),
                min(n, _U16),
                min(cd_size, _U32),
                min(cd_offset, _U32),
                0,
            )  # fmt: skip
        )
