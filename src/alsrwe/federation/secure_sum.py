"""Exact secure aggregation of float vectors: fixed point integers under pairwise masks.

Each site answers a round with a vector of float64 sums over its own patients. It must not
be readable alone, only in the total over all sites (Bonawitz et al. 2017, "Practical Secure
Aggregation for Privacy-Preserving Machine Learning"): every pair of sites shares a seed,
both expand it into the same stream of integers, the lower-named site adds the stream and
the higher-named site subtracts it, so the masks cancel in the sum over all sites and the
coordinator learns the total and nothing else.

Why fixed point: a mask hides a value only if it is uniform over the whole group the value
lives in. Integers modulo ``MODULUS = 2**416`` form such a group (a uniform mask makes the
masked value uniform too, whatever the value); floats form no group at all — adding and
then subtracting a large random float loses the low bits of the value. So each double is
first written exactly as an integer count of ``2**-FRACTION_BITS``.

Exactness: ``FRACTION_BITS = 256`` represents every double with ``2**-203 <= |x| < 2**127``
exactly (its 53 significant bits lie between 2**126 and 2**-255), smaller ones are rounded
once, to the nearest multiple of 2**-256. ``INTEGER_BITS = 128`` bounds each value
(``|x| < 2**127``, else refused) and ``HEADROOM_BITS = 32`` leaves room for 2**32 summands
before the sum could wrap past ``MODULUS / 2`` and read back with the wrong sign.

The integer sum is exact, so the decoded total is the exact sum of all sites' values rounded
once to float64 (as ``math.fsum`` would give): the pooled result does not depend on the order
in which the sites answered, nor on how their patients were split between them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from numbers import Real

import numpy as np

from alsrwe.federation.errors import FederationError

FRACTION_BITS = 256
INTEGER_BITS = 128
HEADROOM_BITS = 32
MODULUS_BITS = FRACTION_BITS + INTEGER_BITS + HEADROOM_BITS
MODULUS = 1 << MODULUS_BITS
ELEMENT_BYTES = MODULUS_BITS // 8

#: The largest magnitude (exclusive) that :func:`encode` accepts.
VALUE_LIMIT = 2.0 ** (INTEGER_BITS - 1)
#: The most vectors :func:`aggregate` sums before the total could overflow.
MAX_SUMMANDS = 1 << HEADROOM_BITS
#: The shortest seed :func:`mask_stream` expands (a shorter one could be guessed).
MIN_SEED_BYTES = 16

_HALF = MODULUS >> 1
_SCALE = 1 << FRACTION_BITS


def _to_fixed(x: float) -> int:
    """``x * 2**FRACTION_BITS`` rounded to the nearest integer, ties to even (not reduced)."""
    numerator, denominator = x.as_integer_ratio()  # denominator is a power of two
    shift = denominator.bit_length() - 1
    if shift <= FRACTION_BITS:
        return numerator << (FRACTION_BITS - shift)
    return round(Fraction(numerator * _SCALE, denominator))


def encode(values: Sequence[float] | np.ndarray) -> list[int]:
    """The fixed point integers (mod ``MODULUS``) of finite doubles with ``|x| < 2**127``."""
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise FederationError("values", f"must be a vector, not an array of {values.ndim} "
                              "dimensions", code="federation.encode.shape")
    encoded: list[int] = []
    for i, item in enumerate(values):
        if isinstance(item, bool) or not isinstance(item, Real):
            raise FederationError("values", f"the value at position {i} is not a number",
                                  code="federation.encode.type")
        x = float(item)
        if not math.isfinite(x):
            raise FederationError("values", f"the value at position {i} is {x}, not a finite "
                                  "number", code="federation.encode.nonfinite")
        if abs(x) >= VALUE_LIMIT:
            raise FederationError("values", f"the value at position {i} is {x!r}: its "
                                  f"magnitude must be below 2**{INTEGER_BITS - 1}",
                                  code="federation.encode.range")
        encoded.append(_to_fixed(x) % MODULUS)
    return encoded


def _elements(values: Sequence[int], field: str) -> list[int]:
    """``values`` as a list, checked to be integers in ``[0, MODULUS)``."""
    checked = list(values)
    for i, v in enumerate(checked):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < MODULUS:
            raise FederationError(field, f"the element at position {i} is not an integer in "
                                  f"[0, 2**{MODULUS_BITS})", code="federation.vector.element")
    return checked


def _same_length(a: Sequence[int], b: Sequence[int], field: str) -> None:
    if len(a) != len(b):
        raise FederationError(field, f"vectors of {len(a)} and {len(b)} elements cannot be "
                              "added: every vector of a round has the same length",
                              code="federation.vector.length")


def decode(total: Sequence[int]) -> np.ndarray:
    """A modular sum back to float64, correctly rounded; values >= MODULUS/2 are negative."""
    out = np.empty(len(total), dtype=np.float64)
    for i, v in enumerate(_elements(total, "total")):
        signed = v - MODULUS if v >= _HALF else v
        out[i] = signed / _SCALE  # int / int is correctly rounded in Python
    return out


def add(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """The elementwise sum of two encoded vectors, mod ``MODULUS``."""
    _same_length(a, b, "vector")
    return [(x + y) % MODULUS for x, y in zip(_elements(a, "vector"), _elements(b, "vector"),
                                              strict=True)]


def aggregate(vectors: Iterable[Sequence[int]]) -> list[int]:
    """The sum of at least one encoded vector (all of one length), mod ``MODULUS``."""
    total: list[int] | None = None
    count = 0
    for vector in vectors:
        count += 1
        if count > MAX_SUMMANDS:
            raise FederationError("vectors", f"more than 2**{HEADROOM_BITS} vectors could "
                                  "overflow the sum", code="federation.mask.overflow")
        elements = _elements(vector, "vector")
        if total is None:
            total = elements
            continue
        _same_length(total, elements, "vector")
        total = [(x + y) % MODULUS for x, y in zip(total, elements, strict=True)]
    if total is None:
        raise FederationError("vectors", "at least one vector is needed",
                              code="federation.vector.empty")
    return total


def mask_stream(seed: bytes, length: int) -> list[int]:
    """``length`` integers uniform mod ``MODULUS``: SHAKE-256(seed), ELEMENT_BYTES each."""
    _check_seed(seed)
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise FederationError("length", "must be a whole number >= 0",
                              code="federation.mask.length")
    stream = _stream_bytes(seed, length)
    return [int.from_bytes(stream[i:i + ELEMENT_BYTES], "big")
            for i in range(0, len(stream), ELEMENT_BYTES)]


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes) or len(seed) < MIN_SEED_BYTES:
        raise FederationError("seed", f"a mask seed must be at least {MIN_SEED_BYTES} bytes",
                              code="federation.mask.seed")


def _stream_bytes(seed: bytes, length: int) -> bytes:
    _check_seed(seed)
    return hashlib.shake_256(seed).digest(length * ELEMENT_BYTES)


def mask(encoded: Sequence[int], own: str, pair_seeds: Mapping[str, bytes]) -> list[int]:
    """``encoded`` under pairwise masks: + the stream of each peer named after ``own``
    (string order), - the stream of each peer named before it.

    Both ends of a pair hold the same seed, so over all sites of a round the masks cancel;
    the sum of any proper subset stays uniform noise.
    """
    if own in pair_seeds:
        raise FederationError("pair_seeds", f"site {own!r} cannot share a mask with itself",
                              code="federation.mask.self")
    masked = _elements(encoded, "encoded")
    n = len(masked)
    if n == 0 or not pair_seeds:
        return masked
    # All peers' streams are added in one big integer of LANE_BYTES-byte lanes (each element's
    # 416 bits plus 32 guard bits, so that up to 2**32 terms never carry into the next lane);
    # subtracting a stream is adding MODULUS − stream, lane by lane. Same result as adding
    # element by element modulo MODULUS, ~50× faster (one C-level addition per peer).
    total = _lanes(b"".join(v.to_bytes(ELEMENT_BYTES, "big") for v in masked), n)
    complement = sum(MODULUS << (8 * LANE_BYTES * k) for k in range(n))
    for peer in sorted(pair_seeds):
        stream = _lanes(_stream_bytes(pair_seeds[peer], n), n)
        total += stream if own < peer else complement - stream
    raw = total.to_bytes(n * LANE_BYTES, "big")
    return [int.from_bytes(raw[i:i + LANE_BYTES], "big") % MODULUS
            for i in range(0, len(raw), LANE_BYTES)]


LANE_BYTES = ELEMENT_BYTES + 4


def _lanes(raw: bytes, n: int) -> int:
    """``n`` big-endian ELEMENT_BYTES-byte integers as one integer of LANE_BYTES-byte lanes."""
    chunks = np.frombuffer(raw, dtype=np.uint8).reshape(n, ELEMENT_BYTES)
    lanes = np.zeros((n, LANE_BYTES), dtype=np.uint8)
    lanes[:, LANE_BYTES - ELEMENT_BYTES:] = chunks
    return int.from_bytes(lanes.tobytes(), "big")


def pack(values: Sequence[int]) -> str:
    """Standard base64 (ascii) of the big-endian ELEMENT_BYTES-byte concatenation."""
    raw = b"".join(v.to_bytes(ELEMENT_BYTES, "big") for v in _elements(values, "vector"))
    return base64.b64encode(raw).decode("ascii")


def unpack(text: str, length: int) -> list[int]:
    """The ``length`` integers that :func:`pack` wrote into ``text``; refuses anything else."""
    if not isinstance(text, str):
        raise FederationError("vector", "must be base64 text", code="federation.vector.base64")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise FederationError("vector", "is not valid base64",
                              code="federation.vector.base64") from None
    if len(raw) != length * ELEMENT_BYTES:
        raise FederationError("vector", f"holds {len(raw)} bytes, expected {length} elements "
                              f"of {ELEMENT_BYTES} bytes", code="federation.vector.length")
    values = [int.from_bytes(raw[i:i + ELEMENT_BYTES], "big")
              for i in range(0, len(raw), ELEMENT_BYTES)]
    # ELEMENT_BYTES bytes hold exactly MODULUS_BITS bits, so this only guards a future change.
    return _elements(values, "vector")


__all__ = [
    "ELEMENT_BYTES",
    "FRACTION_BITS",
    "HEADROOM_BITS",
    "INTEGER_BITS",
    "MAX_SUMMANDS",
    "MIN_SEED_BYTES",
    "MODULUS",
    "MODULUS_BITS",
    "VALUE_LIMIT",
    "add",
    "aggregate",
    "decode",
    "encode",
    "mask",
    "mask_stream",
    "pack",
    "unpack",
]
