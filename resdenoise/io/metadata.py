"""What an audio input holds beside its samples that no output keeps.

An audio output carries the samples and the text tags libsndfile reads (title,
artist, comment, ...: soundfile's ``copy_metadata``), nothing else.  Every other
part of the input is named here, so that a run says what it does not write (a
warning, also the report's) and ``--in-place`` refuses a file it would lose them
from, before the run:

- a WAV (RIFF or RF64) file: each chunk but the ones a writer makes anew or that hold
  nothing (``fmt ``, ``data``, ``fact``, ``PEAK``, ``ds64``, ``JUNK``, ...): a Broadcast
  Wave's ``bext``, ``iXML``, ``cue ``, an ID3 tag (``id3 ``), XMP (``_PMX``), a ``LIST``
  other than INFO (``adtl``: cue labels), and each field of a ``LIST INFO`` chunk whose
  value libsndfile did not read (``IENG``, ``ISRC``, ...: it reads nine of them);
- a FLAC file: each metadata block but STREAMINFO, PADDING and SEEKTABLE (PICTURE: cover
  art; CUESHEET; APPLICATION), and each Vorbis comment whose value libsndfile did not read
  (it reads ten names: ISRC, LOCATION, REPLAYGAIN_* are not among them; of a name given
  twice, one value);
- an OGG (Vorbis or Opus) file: each comment alike (``ENCODER`` is the output's own).

"Read" is measured, not assumed: a field counts as kept where the tags libsndfile gave
hold its value under its name (a field it skips, such as an INFO value of over 2 KiB,
or the first of two ``IART``, is not), and its bytes are UTF-8: a Latin-1 or
Windows-1252 INFO title (as Windows tools write them) is read with U+FFFD for its
accented letters, and written so.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["Held", "held_metadata", "listed", "many", "metadata_note", "unkept"]

#: Chunks of a WAV file a writer makes anew (format, sizes, peaks) or that hold nothing.
_WAV_MADE = {b"fmt ", b"data", b"fact", b"PEAK", b"ds64", b"JUNK", b"junk", b"PAD ", b"FLLR"}
#: What some chunks hold, for the warning (any other is named by its id).
_WAV_SAID = {
    b"bext": "Broadcast Wave description, originator and time reference",
    b"iXML": "production metadata",
    b"axml": "XML metadata",
    b"cue ": "cue points",
    b"smpl": "sampler loops",
    b"inst": "instrument data",
    b"id3 ": "an ID3 tag",
    b"ID3 ": "an ID3 tag",
    b"_PMX": "XMP metadata",
    b"cart": "broadcast cart data",
    b"levl": "peak envelope",
    b"umid": "material identifier",
    b"adtl": "cue labels and notes",
}
#: The INFO fields libsndfile reads, and the tag each is.
_INFO_TAGS = {
    b"INAM": "title",
    b"ICOP": "copyright",
    b"ISFT": "software",
    b"IART": "artist",
    b"ICMT": "comment",
    b"ICRD": "date",
    b"IPRD": "album",
    b"ITRK": "tracknumber",
    b"IGNR": "genre",
}
#: The Vorbis comment names libsndfile reads (FLAC, OGG), lower case; ENCODER is written anew.
_COMMENT_TAGS = {
    "title",
    "copyright",
    "software",
    "artist",
    "comment",
    "date",
    "album",
    "license",
    "tracknumber",
    "genre",
}
#: FLAC metadata blocks a writer makes anew (STREAMINFO, PADDING, SEEKTABLE), and what
#: others hold.
_FLAC_MADE = {0, 1, 3}
_FLAC_SAID = {2: "APPLICATION block (application data)", 5: "CUESHEET block (cue sheet)"}
_FLAC_SAID[6] = "PICTURE block (cover art)"
#: The most bytes of a comment header read (cover art in a comment can be large).
_MOST = 1 << 24
#: The most names of fields listed in a warning.
_LISTED = 8


@dataclass(frozen=True)
class Held:
    """A part of an audio file beside its samples: a whole chunk or block (``group`` None,
    ``name`` says it), or a text field ``name`` of ``group`` (``LIST INFO``, ``Vorbis``),
    kept where libsndfile's tags hold ``value`` as ``tag`` (``value`` None: its bytes are
    no UTF-8, read with their letters replaced)."""

    name: str
    group: str | None = None
    tag: str | None = None
    value: str | None = ""


def _shown(raw: bytes) -> str:
    """An id or name from a file, as data: printable ASCII, anything else escaped."""
    text = raw.decode("latin-1")
    return "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in text).strip() or "?"


def _text(raw: bytes) -> str | None:
    """A field's value as soundfile gives libsndfile's string (up to a NUL, UTF-8); None
    where it is no UTF-8 (Latin-1, Windows-1252): read with U+FFFD for its letters."""
    try:
        return raw.split(b"\0", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _wav(read_at, total: int) -> list[Held]:
    found, pos = [], 12
    while pos + 8 <= total:
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            break
        cid, (size,) = chunk[:4], struct.unpack("<I", chunk[4:])
        if cid == b"data" and size >= 0x7FFF0000:  # its size in ds64, or unknown
            break
        if cid == b"LIST" and 4 <= size <= _MOST:
            found += _wav_list(read_at(pos + 8, size))
        elif cid not in _WAV_MADE:
            said = _WAV_SAID.get(cid)
            found.append(Held(f"{_shown(cid)} chunk" + (f" ({said})" if said else "")))
        pos += 8 + size + (size & 1)
    return found


def _wav_list(body: bytes) -> list[Held]:
    """The parts of a LIST chunk's ``body``: an INFO list's fields, or the whole list."""
    kind = body[:4]
    if kind != b"INFO":
        said = _WAV_SAID.get(kind)
        return [Held(f"LIST {_shown(kind)} chunk" + (f" ({said})" if said else ""))]
    found, pos = [], 4
    while pos + 8 <= len(body):
        fid, (size,) = body[pos : pos + 4], struct.unpack("<I", body[pos + 4 : pos + 8])
        value = _text(body[pos + 8 : pos + 8 + size])
        found.append(Held(_shown(fid), "LIST INFO field", _INFO_TAGS.get(fid), value))
        pos += 8 + size + (size & 1)
    return found


def _comments(body: bytes) -> list[Held]:
    """The fields of a Vorbis comment ``body`` (vendor, count, ``NAME=value`` each)."""
    found = []
    try:
        (vendor,) = struct.unpack_from("<I", body, 0)
        pos = 4 + vendor
        (count,) = struct.unpack_from("<I", body, pos)
        pos += 4
        for _ in range(count):
            (size,) = struct.unpack_from("<I", body, pos)
            field = body[pos + 4 : pos + 4 + size]
            pos += 4 + size
            name, _, value = field.partition(b"=")
            low = name.decode("latin-1").lower()
            if low == "encoder":  # the output's encoder writes its own
                continue
            tag = low if low in _COMMENT_TAGS else None
            found.append(Held(_shown(name), "Vorbis comment", tag, _text(value)))
    except struct.error:  # cut short: the fields before are named
        pass
    return found


def _flac(read_at, total: int) -> list[Held]:
    found, pos, last = [], 4, False
    while not last and pos + 4 <= total:
        head = read_at(pos, 4)
        if len(head) < 4:
            break
        last, kind, size = bool(head[0] & 0x80), head[0] & 0x7F, int.from_bytes(head[1:], "big")
        if kind == 4:
            found += _comments(read_at(pos + 4, min(size, _MOST)))
        elif kind not in _FLAC_MADE:
            found.append(Held(_FLAC_SAID.get(kind, f"metadata block of type {kind}")))
        pos += 4 + size
    return found


def _ogg_packet(read_at, total: int, index: int) -> bytes:
    """The ``index``-th packet (from 0) of an Ogg file's first logical stream, or b""."""
    pos, serial, packet, count = 0, None, b"", 0
    while pos + 27 <= total and len(packet) <= _MOST:
        head = read_at(pos, 27)
        if len(head) < 27 or head[:4] != b"OggS":
            break
        lacing = read_at(pos + 27, head[26])
        body = read_at(pos + 27 + len(lacing), sum(lacing))
        page_serial, at = head[14:18], 0
        pos += 27 + len(lacing) + sum(lacing)
        if serial is None:
            serial = page_serial
        if page_serial != serial:
            continue
        for n in lacing:
            packet += body[at : at + n]
            at += n
            if n < 255:  # the packet ends here
                if count == index:
                    return packet
                packet, count = b"", count + 1
    return b""


def _ogg(read_at, total: int) -> list[Held]:
    header = _ogg_packet(read_at, total, 1)
    for magic in (b"\x03vorbis", b"OpusTags"):
        if header.startswith(magic):
            return _comments(header[len(magic) :])
    return []


def held_metadata(read_at, total: int) -> tuple[list[Held], str]:
    """The parts of a WAV, FLAC or OGG file of ``total`` bytes beside its samples (none
    for another format), and a tool that copies them from one file to another.
    ``read_at(pos, k)`` reads the file.  Chunks after a WAV's data chunk of unknown size
    (RF64's, a stream's) are not seen."""
    head = read_at(0, 12)
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return _wav(read_at, total), "BWF MetaEdit"
    if head[:4] == b"fLaC":
        return _flac(read_at, total), "metaflac"
    if head[:4] == b"OggS":
        return _ogg(read_at, total), "vorbiscomment or opustags"
    return [], ""


def unkept(held: list[Held], tags: dict) -> list[str]:
    """The parts of ``held`` (:func:`held_metadata`) no output keeps, given the text
    ``tags`` libsndfile read: each chunk or block, then each group's fields, named."""
    found: list[str] = []
    fields: dict[tuple[str, str], list[str]] = {}
    for part in held:
        if part.group is None:
            if part.name not in found:
                found.append(part.name)
            continue
        if part.value is None:  # kept with its letters replaced: not kept
            why = "not UTF-8: read with its letters replaced by U+FFFD"
        elif part.tag is None or tags.get(part.tag) != part.value:
            why = "text libsndfile does not read"
        else:
            continue
        names = fields.setdefault((part.group, why), [])
        if part.name not in names:
            names.append(part.name)
    for (group, why), names in fields.items():
        more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
        s = "s" if len(names) > 1 else ""
        found.append(f"{group}{s} {', '.join(names[:_LISTED])}{more} ({why})")
    return found


def many(found: list[str]) -> bool:
    """Whether the parts ``found`` (:func:`unkept`) are several: two, or a group's fields."""
    return len(found) > 1 or found[0].startswith(("LIST INFO fields ", "Vorbis comments "))


def listed(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def metadata_note(source: str, found: list[str], tool: str) -> tuple[str, ...]:
    """The warning (one, or none) that the parts ``found`` (:func:`unkept`) of the input
    ``source`` are not written; ``tool`` copies them over."""
    if not found:
        return ()
    several = many(found)
    them = "them" if several else "it"
    return (
        f"{source}: its {listed(found)} {'are' if several else 'is'} not written to "
        f"the output (only the samples and the text tags libsndfile reads are): keep the "
        f"input for {them}, or copy {them} over (e.g. with {tool})",
    )
