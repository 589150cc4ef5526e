"""Low-level FITS access: bytes, SHA-256, per-HDU CHECKSUM, headers and table columns.

The file is read once; headers are parsed from those bytes (astropy for unusual cards) and
scalar tables are viewed in place with numpy (fitsio decodes anything else). That is several times faster
than opening the file with astropy.io.fits or fitsio. CHECKSUM is verified directly with
the FITS ones'-complement sum, because MAST files carry CHECKSUM without DATASUM and
astropy's verdict is unreliable for them.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProductError

BLOCK = 2880
_GZIP_MAGIC = b"\x1f\x8b"


def ones_complement_sum(buf: memoryview | bytes) -> int:
    """32-bit ones'-complement sum of big-endian words (FITS Standard, appendix J)."""
    words = np.frombuffer(buf, dtype=">u4")
    total = int(words.sum(dtype=np.uint64))
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


@dataclass
class HDU:
    index: int
    header: dict[str, Any]
    kind: str  # 'image' | 'table'
    offsets: dict[str, int]
    checksum_ok: bool | None


@dataclass
class FitsFile:
    """One FITS file opened for ingest: identity, headers of every HDU, checksum verdict."""

    path: Path
    size_bytes: int
    sha256: str
    raw: bytes
    hdus: list[HDU]
    # A structural defect found on opening; the reader decides whether it matters.
    problem: str | None = None

    @property
    def checksum_ok(self) -> bool | None:
        verdicts = [h.checksum_ok for h in self.hdus if h.checksum_ok is not None]
        return None if not verdicts else all(verdicts)

    def table(self, index: int) -> np.ndarray:
        """A binary table's rows as a numpy structured array (big-endian, as stored)."""
        hdu = self.hdus[index]
        dtype = _scalar_table_dtype(hdu.header)
        start = hdu.offsets["data_start"]
        if dtype is not None:
            n_rows = int(hdu.header.get("NAXIS2") or 0)
            # The bytes are already in memory and the structure was checked: view them directly.
            return np.frombuffer(self.raw, dtype=dtype, count=n_rows, offset=start)
        import fitsio  # only for unusual tables; keeps every command's start-up light

        try:
            with fitsio.FITS(str(self.path)) as f:  # vector or unusual columns: let CFITSIO decode
                return f[index].read()
        except OSError as exc:
            raise ProductError(str(self.path), f"unreadable FITS table in HDU {index}: {_first_line(exc)}") from exc


_TFORM_CODES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


def _scalar_table_dtype(header: dict[str, Any]) -> np.dtype | None:
    """The numpy dtype of a table whose columns are all scalar numbers, else None."""
    names, formats = [], []
    for i in range(1, int(header.get("TFIELDS") or 0) + 1):
        tform = str(header.get(f"TFORM{i}", "")).strip()
        repeat, code = (tform[:-1] or "1"), tform[-1:]
        if repeat != "1" or code not in _TFORM_CODES or f"TSCAL{i}" in header or f"TZERO{i}" in header:
            return None
        names.append(str(header.get(f"TTYPE{i}", f"col{i}")).strip())
        formats.append(_TFORM_CODES[code])
    if not names or len(set(names)) != len(names):
        return None
    dtype = np.dtype({"names": names, "formats": formats})
    return dtype if dtype.itemsize == int(header.get("NAXIS1") or -1) else None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$")


def parse_header(block: bytes) -> dict[str, Any]:
    """Keyword -> value of a header's cards (blank values are None; COMMENT/HISTORY dropped).

    A direct reading of the fixed-format cards, several times faster than astropy's lazy
    per-key parsing; any card it does not understand sends the whole header to astropy.
    """
    out: dict[str, Any] = {}
    for i in range(0, len(block), 80):
        card = block[i : i + 80].decode("ascii", errors="replace")
        key = card[:8].rstrip()
        if key in ("", "COMMENT", "HISTORY", "END") or card[8:10] != "= ":
            if key in ("CONTINUE", "HIERARCH"):
                return _parse_with_astropy(block)
            continue
        text = card[10:].strip()
        if text.startswith("'"):
            value, end, j = [], False, 1
            while j < len(text):
                if text[j] == "'":
                    if j + 1 < len(text) and text[j + 1] == "'":
                        value.append("'")
                        j += 2
                        continue
                    end = True
                    break
                value.append(text[j])
                j += 1
            if not end:
                return _parse_with_astropy(block)
            out[key] = "".join(value).rstrip()
            continue
        text = text.split("/", 1)[0].strip()
        if text == "":
            out[key] = None
        elif text in ("T", "F"):
            out[key] = text == "T"
        elif _NUMBER.match(text):
            out[key] = int(text) if text.lstrip("+-").isdigit() else float(text.replace("D", "E").replace("d", "e"))
        else:
            return _parse_with_astropy(block)
    return out


def _parse_with_astropy(block: bytes) -> dict[str, Any]:
    from astropy.io import fits  # only for unusual cards: importing it costs 0.17 s

    header = fits.Header.fromstring(block.decode("ascii", errors="replace"))
    return {
        k: (None if isinstance(v, fits.card.Undefined) else v)
        for k, v in header.items()
        if k and k not in ("COMMENT", "HISTORY")
    }


def _hdus(raw: bytes) -> list[HDU]:
    """Walk the HDUs of a FITS byte string: parse each header and locate its data unit."""
    hdus: list[HDU] = []
    pos = 0
    while pos < len(raw):
        end = _end_card(raw, pos)
        if end < 0:
            if hdus and not raw[pos:].strip(b"\x00 "):
                break  # zero padding after the last HDU
            raise ValueError(f"truncated FITS file: header {len(hdus)} has no END card")
        header = parse_header(raw[pos : end + 80])
        data_start = pos + (end + 80 - pos + BLOCK - 1) // BLOCK * BLOCK
        size = data_size(header)
        data_end = data_start + size
        xtension = str(header.get("XTENSION", "")).strip().upper()
        kind = "table" if xtension in ("BINTABLE", "TABLE") else "image"
        offsets = {"header_start": pos, "data_start": data_start, "data_end": data_end}
        hdus.append(HDU(len(hdus), header, kind, offsets, None))
        pos = data_start + (size + BLOCK - 1) // BLOCK * BLOCK
    return hdus


def data_size(header: dict[str, Any]) -> int:
    """Bytes of an HDU's data unit as its header declares them (before block padding)."""
    naxis = int(header.get("NAXIS", 0))
    if not naxis:
        return 0
    size = 1
    for i in range(1, naxis + 1):
        size *= int(header.get(f"NAXIS{i}", 0))
    return abs(int(header.get("BITPIX", 8))) // 8 * int(header.get("GCOUNT", 1)) * (size + int(header.get("PCOUNT", 0)))


def _end_card(raw: bytes, pos: int) -> int:
    """Offset of the END card of the header starting at pos (cards are 80-byte aligned), or -1."""
    at = raw.find(b"END", pos)
    while at >= 0:
        if (at - pos) % 80 == 0 and raw[at + 3 : at + 80].strip() == b"":
            return at
        at = raw.find(b"END", at + 1)
    return -1


def read_primary_header(path: str | Path, max_bytes: int = 8 * BLOCK) -> dict[str, Any] | None:
    """The primary header from the first bytes of a (possibly gzipped) file, or None if it is not there."""
    with open(path, "rb") as f:
        head = f.read(max_bytes)
        if head[:2] == _GZIP_MAGIC:
            f.seek(0)
            with gzip.open(f) as unzipped:
                head = unzipped.read(max_bytes)
    end = _end_card(head, 0)
    return parse_header(head[: end + 80]) if end >= 0 and head.startswith(b"SIMPLE  =") else None


def open_fits(path: str | Path) -> FitsFile:
    """Read a file's bytes once, identify it and verify its structure; raise ProductError if unusable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProductError(str(path), f"cannot read file: {exc.strerror or exc}", state="failed") from exc
    sha = hashlib.sha256(data).hexdigest()
    size = len(data)
    raw = data
    if data[:2] == _GZIP_MAGIC:
        raw = inflate_fits(data, str(path))
    if not raw:
        raise ProductError(str(path), "empty file")
    if not raw.startswith(b"SIMPLE  ="):
        raise ProductError(str(path), "not a FITS file (no SIMPLE card at the start)")
    if len(raw) % BLOCK:
        raise ProductError(str(path), f"truncated FITS file ({len(raw)} bytes is not a multiple of {BLOCK})")
    try:
        hdus = _hdus(raw)
    except Exception as exc:  # astropy raises many kinds of errors on damaged headers
        text = _first_line(exc)
        raise ProductError(
            str(path), text if text.startswith("truncated") else f"corrupt FITS header ({text})"
        ) from exc
    for hdu in hdus:
        hdu.checksum_ok = _verify_checksum(raw, hdu.header, hdu.offsets)
    problem = None
    expected_ext = hdus[0].header.get("NEXTEND")
    if hdus[-1].offsets["data_end"] > len(raw):
        problem = "truncated FITS file: last HDU ends past the end of the file"
    elif isinstance(expected_ext, int) and len(hdus) - 1 < expected_ext:
        problem = f"truncated FITS file: NEXTEND={expected_ext} but {len(hdus) - 1} extension(s) found"
    return FitsFile(path, size, sha, raw, hdus, problem)


INFLATE_STEP = 4 << 20  # bytes inflated at a time (larger steps gain little)
INFLATE_MARGIN = 2 << 20  # inflated bytes allowed past the declared HDUs: padding and the next header


def inflate_fits(data: bytes, name: str) -> bytes:
    """Decompress a gzipped FITS file, never past what its headers declare plus INFLATE_MARGIN.

    A few MB of gzip can inflate to many GB; the HDU headers, read as they come out,
    say how large the file is, so memory stays bounded by the file's own declaration.
    """
    out = bytearray()
    bound = _DeclaredSize()
    stream = zlib.decompressobj(wbits=31)
    pending = data
    try:
        while True:
            out += stream.decompress(pending, INFLATE_STEP)
            pending = stream.unconsumed_tail
            if len(out) >= 9 and not out.startswith(b"SIMPLE  ="):
                raise ProductError(name, "not a FITS file (no SIMPLE card at the start)")
            if len(out) > bound.limit(out):
                raise ProductError(name, "gzip inflates past the size its headers declare")
            if stream.eof:
                if not stream.unused_data:
                    break
                pending = stream.unused_data  # another gzip member follows
                stream = zlib.decompressobj(wbits=31)
            elif not pending:
                out += stream.flush()
                raise EOFError("compressed file ended before the end-of-stream marker was reached")
    except (zlib.error, EOFError) as exc:
        raise ProductError(name, f"corrupt gzip stream ({_first_line(exc)})") from exc
    return bytes(out)


class _DeclaredSize:
    """Follows the HDU headers of a growing buffer: where the declared HDUs end."""

    def __init__(self) -> None:
        self.end = 0  # end of the last HDU whose header has been read (block-padded)

    def limit(self, buf: bytearray) -> int:
        while True:
            end_card = _end_card(buf, self.end)
            if end_card < 0 or end_card + 80 > len(buf):  # the header is not all out yet
                return self.end + INFLATE_MARGIN
            try:
                size = data_size(parse_header(bytes(buf[self.end : end_card + 80])))
            except Exception:  # a damaged header: the structural checks after inflating report it
                return self.end + INFLATE_MARGIN
            data_start = self.end + (end_card + 80 - self.end + BLOCK - 1) // BLOCK * BLOCK
            self.end = data_start + (size + BLOCK - 1) // BLOCK * BLOCK


def _verify_checksum(raw: bytes, header: dict[str, Any], offsets: dict[str, int]) -> bool | None:
    if "CHECKSUM" not in header:
        return None
    start, end = offsets["header_start"], offsets["data_end"]
    end += (-end) % BLOCK  # the data unit is padded to a whole block
    if end > len(raw):
        return False
    # A correct CHECKSUM makes the whole HDU sum to negative zero.
    return ones_complement_sum(memoryview(raw)[start:end]) == 0xFFFFFFFF
