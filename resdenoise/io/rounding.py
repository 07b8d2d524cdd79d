"""What writing to an integer PCM subtype did to a run's output, block by block.

Rounding (and clipping) to the subtype's integers is monotone: the written range is
the image of the run's, and no sign change is added (a sample rounded to 0 has no
sign).  Total variation is another matter: ``0.49, 0.51`` steps apart by 0.02 are
written ``0, 1`` steps, a whole step apart, so the written samples' total variation
may exceed the run's and even the input's.  :class:`PcmRounding` measures the
written integers themselves, over every block a writer writes, in pieces of bounded
memory: the range, total variation and sign changes per channel.  A companding or lossy
subtype kept from the input (u-law, GSM 6.10, ...) is not measured: :func:`reencoded`
says so in a warning.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ENCODED_SUBTYPES", "LOSSY_CODECS", "FullScale", "PcmRounding", "reencoded"]

#: Rows per piece measured at once (a piece's integers: 8 bytes a sample).
PIECE_ROWS = 1 << 16


class PcmRounding:
    """The written integers of an integer PCM output of ``channels`` filtered channels
    (``bits``-bit samples), measured as the writer hands them over (:meth:`note`)."""

    def __init__(self, subtype: str, bits: int, channels: int):
        self.subtype, self.bits = subtype, bits
        self.top = 2 ** (bits - 1)  # one past the largest integer sample
        self.lo = np.full(channels, np.iinfo(np.int64).max)
        self.hi = np.full(channels, np.iinfo(np.int64).min)
        self.tv = np.zeros(channels, dtype=np.int64)  # sum |q_{i+1} - q_i|, in steps
        self.sign_changes = [0] * channels  # between nonzero samples, zeros skipped
        self.last_sign: list[bool | None] = [None] * channels  # the last nonzero's: > 0?
        self.last: np.ndarray | None = None  # the last row written (joins the blocks)
        # a sample within half a step below 1 written as the top code (less than a step
        # below it): no sample moved more than one step (else half a step)
        self.railed = False

    def note(self, frames: np.ndarray, columns: list | None = None) -> None:
        """Rows of the written frames (``(k, width)`` int32, the sample in the top
        ``bits`` bits, as libsndfile takes them), in order: the filtered channels are
        ``columns`` of them (None: all)."""
        shift = 32 - self.bits
        for start in range(0, frames.shape[0], PIECE_ROWS):
            piece = frames[start : start + PIECE_ROWS]
            q = (piece if columns is None else piece[:, columns]).astype(np.int64) >> shift
            np.minimum(self.lo, q.min(axis=0), out=self.lo)
            np.maximum(self.hi, q.max(axis=0), out=self.hi)
            if self.last is not None:
                self.tv += np.abs(q[0] - self.last)
            self.tv += np.abs(np.diff(q, axis=0)).sum(axis=0)
            self.last = q[-1].copy()
            for c, column in enumerate(q.T):
                self._count_signs(c, column)

    def _count_signs(self, c: int, column: np.ndarray) -> None:
        """Sign changes of channel ``c``'s written integers (``resdenoise.signs``' count
        without a band: a 0 has no sign), carried on from its last nonzero sample."""
        positive = column[column != 0] > 0
        if not positive.size:
            return
        changes = int(np.count_nonzero(positive[1:] != positive[:-1]))
        before = self.last_sign[c]
        self.sign_changes[c] += changes + (before is not None and before != positive[0])
        self.last_sign[c] = bool(positive[-1])

    def result(self) -> dict | None:
        """The report's side of the rounding (None where nothing was written): the
        subtype, its ``step``, the written range (``output_min``, ``output_max``), total
        variation (``output_tv``) and sign changes (``output_sign_changes``) per channel,
        and ``mean_change_at_most`` (half a step: no sample moved more; one step where a
        sample within half a step below 1 was written as the top code)."""
        if self.last is None:
            return None
        step = 1.0 / self.top
        return {
            "subtype": self.subtype,
            "step": step,
            "output_min": [float(x) * step for x in self.lo],
            "output_max": [float(x) * step for x in self.hi],
            "output_tv": [float(x) * step for x in self.tv],
            "output_sign_changes": [int(k) for k in self.sign_changes],
            "mean_change_at_most": step if self.railed else step / 2,
        }


class FullScale:
    """The input's samples at an integer PCM subtype's lowest or highest code (a recording
    clipped before it got here), per column, counted block by block as read."""

    def __init__(self, subtype: str | None):
        from .signal import PCM_BITS

        bits = PCM_BITS.get(subtype)  # type: ignore[arg-type]
        self.counts: np.ndarray | None = None
        # the codes read as floats: k / 2^(bits-1), -1 and 1 - 2^(1-bits) at the rails
        self.rails = None if bits is None else (-1.0, 1.0 - 2.0 ** (1 - bits))

    def note(self, block: np.ndarray) -> None:
        """The next block of samples, as floats (``(k,)`` or ``(k, columns)``)."""
        if self.rails is None or not block.size:
            return
        block = block.reshape(block.shape[0], -1)
        lo, hi = self.rails
        counts = np.count_nonzero(block <= lo, axis=0) + np.count_nonzero(block >= hi, axis=0)
        self.counts = counts if self.counts is None else self.counts + counts

    def result(self, positions=None) -> list[int] | None:
        """The count per column (None for a subtype without integer codes): of the
        columns at ``positions`` (the filtered channels) where the blocks held more."""
        if self.rails is None:
            return None
        if self.counts is None:
            return []
        counts = self.counts
        if positions is not None and len(counts) > len(positions):
            counts = counts[list(positions)]
        return [int(k) for k in counts]


#: Companding and lossy subtypes of formats that otherwise hold plain samples (WAV, AIFF,
#: AU, ...): kept from the input, they re-encode the run's output (:func:`reencoded`).
ENCODED_SUBTYPES = frozenset(
    ["ULAW", "ALAW", "GSM610", "IMA_ADPCM", "MS_ADPCM", "VOX_ADPCM"]
    + ["G721_32", "G723_24", "G723_40", "NMS_ADPCM_16", "NMS_ADPCM_24", "NMS_ADPCM_32"]
)


#: The lossy codecs of the compressed formats (Ogg Vorbis and Opus, MP3): kept from the
#: input, they encode the run's output a second time (:func:`reencoded`).
LOSSY_CODECS = frozenset(["VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"])


def reencoded(subtype: str, given: str | None, target: str) -> str | None:
    """One line for a reader of ``target`` where the input's companding or lossy
    ``given`` subtype (:data:`ENCODED_SUBTYPES`: u-law, A-law, GSM 6.10, ADPCM; or a
    lossy codec, :data:`LOSSY_CODECS`) is kept: the samples written are not the run's,
    and the report's output numbers are the run's, before that encoding; else None."""
    if subtype != given:
        return None
    if subtype in LOSSY_CODECS:  # the format holds nothing else: the way out is another one
        return (
            f"{target}: the input's {subtype} encoding is kept: the output is encoded by it a "
            "second time (lossy), which may move its samples and peaks, and the report's output "
            "numbers (range, sign changes, total variation, mean drift) are the run's before "
            "that encoding; write a WAV file (FLOAT, e.g. out.wav) to keep the samples as measured"
        )
    if subtype not in ENCODED_SUBTYPES:
        return None
    return (
        f"{target}: the input's {subtype} encoding is kept: the output is re-encoded by it "
        f"(companded or lossy), and the report's output numbers (range, sign changes, total "
        f"variation, mean drift) are the run's before that encoding; give subtype PCM_16 or "
        "FLOAT to write the samples as measured"
    )
