"""A straightforward encoder of Label Studio's brush RLE (``@thi.ng/rle-pack`` layout), for tests.

Written from the format description (FORMATS.md §3c): header num (32 bits), wordSize-1 (5 bits),
rleSizes-1 (4 x 4 bits); then chunks ``1, k(2), n-1, value`` for runs and ``0, k(2), m-1, m
words`` for literal stretches. Runs are split at 2**16 words.
"""

import numpy as np

SIZES = (3, 4, 8, 16)


def _bits(value, n):
    return format(value, f"0{n}b")


def _size_index(n):
    return next(k for k, s in enumerate(SIZES) if n <= 1 << s)


def encode_words(words, *, literal_max=8):
    words = [int(w) for w in words]
    out = [_bits(len(words), 32), _bits(7, 5)] + [_bits(s - 1, 4) for s in SIZES]
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and words[j] == words[i] and j - i < 1 << 16:
            j += 1
        n = j - i
        if n > 1:
            k = _size_index(n)
            out += ["1", _bits(k, 2), _bits(n - 1, SIZES[k]), _bits(words[i], 8)]
            i = j
        else:  # literal stretch up to literal_max distinct words
            j = i + 1
            while j < len(words) and j - i < literal_max and (j + 1 >= len(words)
                                                              or words[j] != words[j + 1]):
                j += 1
            m = j - i
            k = _size_index(m)
            out += ["0", _bits(k, 2), _bits(m - 1, SIZES[k])] + [_bits(w, 8) for w in words[i:j]]
            i = j
    bits = "".join(out)
    bits += "0" * (-len(bits) % 8)
    return [int(bits[p : p + 8], 2) for p in range(0, len(bits), 8)]


def encode_mask(mask, *, alpha=255):
    """RGBA words of a boolean mask as the SDK writes them (gray value in all 4 channels)."""
    a = np.where(np.asarray(mask, bool), alpha, 0).astype(np.uint8)
    return encode_words(np.repeat(a.ravel(), 4))
