"""Secure sums: exact fixed point, masks that cancel only over all sites, a strict wire format.

References are outside the code: ``fractions.Fraction`` for exact values, ``math.fsum`` for
the correctly rounded sum, ``hashlib.shake_256`` for the mask stream's definition.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsrwe.federation import secure_sum as ss
from alsrwe.federation.errors import FederationError

EXACT_LOW = 2.0**-203

finite = st.floats(min_value=-(2.0**100), max_value=2.0**100, allow_nan=False,
                   allow_infinity=False)
exact = finite.filter(lambda x: x == 0 or abs(x) >= EXACT_LOW)


def _reference_encoding(x: float) -> int:
    """The definition: x * 2**256 rounded to nearest, ties to even, mod 2**416."""
    return round(Fraction(x) * 2**256) % 2**416


def _signed(v: int) -> int:
    return v - 2**416 if v >= 2**415 else v


def test_constants() -> None:
    assert ss.MODULUS_BITS == 416
    assert ss.MODULUS == 2**416
    assert ss.ELEMENT_BYTES == 52


@given(st.lists(exact, max_size=20))
def test_round_trip_is_exact_in_range(values: list[float]) -> None:
    encoded = ss.encode(values)
    assert encoded == [_reference_encoding(x) for x in values]
    decoded = ss.decode(encoded)
    assert decoded.dtype == np.float64
    assert decoded.tolist() == values


@given(finite)
def test_any_double_in_range_is_rounded_once_to_the_grid(x: float) -> None:
    (v,) = ss.encode([x])
    assert v == _reference_encoding(x)
    assert abs(Fraction(_signed(v), 2**256) - Fraction(x)) <= Fraction(1, 2**257)
    # the decoded double is the nearest to the grid point, so within 2 * 2**-257 of x
    assert abs(Fraction(float(ss.decode([v])[0])) - Fraction(x)) <= Fraction(1, 2**256)


def test_tiny_values() -> None:
    assert ss.decode(ss.encode([1e-40, -1e-40])).tolist() == [1e-40, -1e-40]
    assert ss.decode(ss.encode([EXACT_LOW, -EXACT_LOW])).tolist() == [EXACT_LOW, -EXACT_LOW]
    (v,) = ss.encode([1e-70])
    assert v != 0
    assert Fraction(v, 2**256) != Fraction(1e-70)  # 1e-70 needs bits below 2**-256
    assert abs(Fraction(v, 2**256) - Fraction(1e-70)) <= Fraction(1, 2**257)
    assert abs(Fraction(float(ss.decode([v])[0])) - Fraction(1e-70)) <= Fraction(1, 2**256)
    # below half the resolution a value rounds to zero; exactly half is a tie, to even (0)
    assert ss.encode([2.0**-258, 2.0**-257, 3 * 2.0**-257]) == [0, 0, 2]
    assert ss.encode([5e-324]) == [0]


def test_rounding_ties_to_even_and_negative_values() -> None:
    assert ss.encode([-1.0]) == [2**416 - 2**256]
    assert ss.encode([-(2.0**-257)]) == [0]
    assert ss.encode([-3 * 2.0**-257]) == [2**416 - 2]
    assert ss.decode([2**416 - 2**256, 2**415, 2**415 - 1]).tolist() == [
        -1.0, -(2.0**159), 2.0**159]


def test_encode_accepts_numpy_and_ints() -> None:
    assert ss.encode(np.array([0.5, -2.0])) == ss.encode([0.5, -2.0])
    assert ss.encode(np.array([0.25, 3], dtype=np.float32)) == [2**254, 3 * 2**256]
    assert ss.encode([0.25, 3]) == [2**254, 3 * 2**256]
    with pytest.raises(FederationError) as raised:
        ss.encode(np.zeros((2, 2)))
    assert raised.value.code == "federation.encode.shape"


site_vectors = st.integers(min_value=1, max_value=6).flatmap(
    lambda n: st.lists(st.lists(exact, min_size=n, max_size=n), min_size=1, max_size=10))


@given(site_vectors)
def test_sum_of_encodings_decodes_to_fsum(sites: list[list[float]]) -> None:
    total = ss.aggregate(ss.encode(v) for v in sites)
    expected = [math.fsum(column) for column in zip(*sites, strict=True)]
    assert ss.decode(total).tolist() == expected
    # and in any order of the sites
    assert ss.aggregate(ss.encode(v) for v in reversed(sites)) == total


def test_sum_is_exact_where_floats_are_not() -> None:
    values = [2.0**100, 1.0, -(2.0**100)]
    assert sum(values) == 0.0  # naive float addition loses the 1.0
    total = ss.aggregate(ss.encode([x]) for x in values)
    assert ss.decode(total).tolist() == [1.0]


def _round(names: list[str], vectors: list[list[float]], rng: random.Random) -> list[list[int]]:
    """Each site masks its encoded vector with a seed per pair, equal at both ends.

    The seeds come from a truly seeded generator: equal seeds for two pairs of a site would
    cancel each other (as they should), which is not what these tests are about.
    """
    seeds = {frozenset(pair): rng.randbytes(32)
             for pair in ((a, b) for i, a in enumerate(names) for b in names[i + 1:])}
    return [ss.mask(ss.encode(vector), own,
                    {peer: seeds[frozenset((own, peer))] for peer in names if peer != own})
            for own, vector in zip(names, vectors, strict=True)]


names_strategy = st.lists(st.text("abcXYZ-_.019", min_size=1, max_size=6), min_size=2,
                          max_size=12, unique=True)


@settings(max_examples=50, deadline=None)
@given(names_strategy, st.integers(1, 5), st.randoms(use_true_random=True), st.data())
def test_masks_cancel_over_all_sites(names: list[str], length: int, rng: random.Random,
                                     data: st.DataObject) -> None:
    vectors = [data.draw(st.lists(exact, min_size=length, max_size=length)) for _ in names]
    masked = _round(names, vectors, rng)
    expected = [math.fsum(column) for column in zip(*vectors, strict=True)]
    assert ss.decode(ss.aggregate(masked)).tolist() == expected
    # a masked vector is not its encoding
    for vector, sent in zip(vectors, masked, strict=True):
        assert sent != ss.encode(vector)


@settings(max_examples=50, deadline=None)
@given(names_strategy, st.randoms(use_true_random=True), st.data())
def test_a_missing_site_leaves_garbage(names: list[str], rng: random.Random,
                                       data: st.DataObject) -> None:
    vectors = [data.draw(st.lists(finite, min_size=3, max_size=3)) for _ in names]
    masked = _round(names, vectors, rng)
    missing = data.draw(st.integers(0, len(names) - 1))
    kept = [v for j, v in enumerate(vectors) if j != missing]
    partial = [math.fsum(column) for column in zip(*kept, strict=True)]
    rest = ss.decode(ss.aggregate(m for j, m in enumerate(masked) if j != missing))
    # uniform noise mod 2**416 decodes to magnitudes near 2**159; the values are below 2**100
    for got, want in zip(rest.tolist(), partial, strict=True):
        assert abs(got - want) > 2.0**110


def test_masked_zero_looks_uniform() -> None:
    zeros = ss.encode([0.0] * 512)
    masked = ss.mask(zeros, "alpha", {"beta": bytes(range(32))})
    assert masked != zeros
    top_bytes = [v >> 408 for v in masked]
    # 512 uniform draws of the top byte: about 221 distinct values expected; of the top bit,
    # 256 +- 11 set
    assert len(set(top_bytes)) > 180
    top_bit_set = sum(v >> 415 for v in masked)
    assert 200 < top_bit_set < 312
    assert all(0 <= v < 2**416 for v in masked)


def test_mask_signs_follow_string_order() -> None:
    seed = b"s" * 32
    stream = ss.mask_stream(seed, 2)
    assert ss.mask([0, 0], "b", {"c": seed}) == stream
    assert ss.mask([0, 0], "b", {"a": seed}) == [(-m) % 2**416 for m in stream]
    # the lower name adds, the higher subtracts: "B" < "a" in string order
    assert ss.mask([0, 0], "B", {"a": seed}) == stream


def test_mask_stream_is_shake256() -> None:
    seed = bytes(32)
    digest = hashlib.shake_256(seed).digest(3 * 52)
    assert ss.mask_stream(seed, 3) == [int.from_bytes(digest[i * 52:(i + 1) * 52], "big")
                                       for i in range(3)]
    assert ss.mask_stream(seed, 0) == []
    assert ss.mask_stream(seed, 1) == ss.mask_stream(seed, 3)[:1]
    assert ss.mask_stream(b"\x01" + seed[1:], 1) != ss.mask_stream(seed, 1)


def test_mask_refusals() -> None:
    with pytest.raises(FederationError) as raised:
        ss.mask([0], "a", {"a": bytes(32)})
    assert raised.value.code == "federation.mask.self"
    with pytest.raises(FederationError) as raised:
        ss.mask_stream(b"short", 1)
    assert raised.value.code == "federation.mask.seed"
    with pytest.raises(FederationError):
        ss.mask_stream(bytes(32), -1)
    with pytest.raises(FederationError):
        ss.mask([2**416], "a", {"b": bytes(32)})


@pytest.mark.parametrize("bad", [2.0**127, -(2.0**127), 1e300, -1e39])
def test_range_refusal_names_the_position(bad: float) -> None:
    largest = math.nextafter(2.0**127, 0)
    assert ss.encode([largest, -largest]) == [_reference_encoding(largest),
                                              _reference_encoding(-largest)]
    with pytest.raises(FederationError) as raised:
        ss.encode([1.0, 2.0, bad])
    assert raised.value.code == "federation.encode.range"
    assert raised.value.field == "values"
    assert "position 2" in raised.value.rule


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_nonfinite_refusal_names_the_position(bad: float) -> None:
    with pytest.raises(FederationError) as raised:
        ss.encode([0.0, bad, 1.0])
    assert raised.value.code == "federation.encode.nonfinite"
    assert "position 1" in raised.value.rule


@pytest.mark.parametrize("bad", ["1.0", None, True])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(FederationError) as raised:
        ss.encode([bad])  # type: ignore[list-item]
    assert raised.value.code == "federation.encode.type"
    assert "position 0" in raised.value.rule


def test_add_and_aggregate() -> None:
    a = ss.encode([1.5, -2.0])
    b = ss.encode([-1.5, 0.25])
    assert ss.decode(ss.add(a, b)).tolist() == [0.0, -1.75]
    assert ss.add([2**416 - 1], [1]) == [0]
    with pytest.raises(FederationError) as raised:
        ss.add(a, [0])
    assert raised.value.code == "federation.vector.length"
    with pytest.raises(FederationError) as raised:
        ss.aggregate([a, b, [0]])
    assert raised.value.code == "federation.vector.length"
    with pytest.raises(FederationError) as raised:
        ss.aggregate([])
    assert raised.value.code == "federation.vector.empty"
    with pytest.raises(FederationError) as raised:
        ss.aggregate([[-1]])
    assert raised.value.code == "federation.vector.element"
    with pytest.raises(FederationError):
        ss.decode([2**416])


@given(st.lists(st.integers(min_value=0, max_value=2**416 - 1), max_size=20))
def test_pack_unpack_round_trip(values: list[int]) -> None:
    text = ss.pack(values)
    raw = base64.b64decode(text, validate=True)
    assert raw == b"".join(v.to_bytes(52, "big") for v in values)
    assert ss.unpack(text, len(values)) == values


def test_pack_layout() -> None:
    assert base64.b64decode(ss.pack([1, 2**416 - 1])) == (
        bytes(51) + b"\x01" + b"\xff" * 52)


@pytest.mark.parametrize("text, length", [
    (base64.b64encode(bytes(104)).decode(), 1),   # two elements, one expected
    (base64.b64encode(bytes(104)).decode(), 3),
    (base64.b64encode(bytes(51)).decode(), 1),    # a short element
    ("not base64!", 1),
    ("AAAA\n", 0),
    ("AAA", 0),                                   # bad padding
    ("ÄÄÄÄ", 0),
])
def test_unpack_refuses(text: str, length: int) -> None:
    with pytest.raises(FederationError) as raised:
        ss.unpack(text, length)
    assert raised.value.field == "vector"


def test_pack_refuses_out_of_range() -> None:
    with pytest.raises(FederationError):
        ss.pack([2**416])
    with pytest.raises(FederationError):
        ss.pack([-1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=ss.MODULUS - 1), min_size=1, max_size=20),
       st.integers(min_value=1, max_value=12), st.integers(min_value=0, max_value=2**32))
def test_fast_mask_equals_the_elementwise_definition(values: list[int], peers: int,
                                                     salt: int) -> None:
    """The lane-packed addition in ``mask`` is + stream / − stream modulo MODULUS per element."""
    rng = random.Random(salt)
    seeds = {f"p{i:02d}": rng.randbytes(32) for i in range(peers)}
    own = f"p{rng.randrange(peers + 1):02d}x"  # sorts among the peers
    expected = list(values)
    for peer in sorted(seeds):
        stream = ss.mask_stream(seeds[peer], len(values))
        sign = 1 if own < peer else -1
        expected = [(v + sign * m) % ss.MODULUS for v, m in zip(expected, stream, strict=True)]
    assert ss.mask(values, own, seeds) == expected
