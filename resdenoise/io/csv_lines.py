"""A CSV file's bytes read in pieces, decoded and split into lines; what is not text refused."""

from __future__ import annotations

import codecs

from ..errors import SignalError, one_line
from .csv_cells import _not_csv
from .signal import UTF16_BE

#: Bytes of text read at a time when streaming a CSV file.
READ_BYTES = 1 << 20


def _file_chunks(path: str, source: str, read=None, piece: int | None = None):
    """The bytes of a file, ``piece`` (default ``READ_BYTES``) at a time (the first piece
    at least 4); ``read(done)`` after each piece: the bytes read so far."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise SignalError(f"{source}: cannot read: {one_line(exc.strerror or exc)}") from None
    with fh:
        piece = READ_BYTES if piece is None else piece
        size = max(piece, 4)  # enough for any byte-order mark
        done = 0
        while True:
            try:
                raw = fh.read(size)
            except OSError as exc:
                raise SignalError(
                    f"{source}: cannot read: {one_line(exc.strerror or exc)}"
                ) from None
            if not raw:
                return
            if read is not None:
                done += len(raw)
                read(done)
            yield raw
            size = piece


def _undecodable(source: str, line: int, start: int, buf: bytes, at: int, encoding: str) -> str:
    """The message for a byte that does not decode (``start``: its offset in the file,
    ``at`` in ``buf``).  A byte above 0x7f beside an ASCII letter, digit or space, with no
    control bytes around, is a letter or symbol of an 8-bit text file (Excel on Windows
    writes Windows-1252, "Temp\xe9rature", "\xb5V"; on a Mac, Mac Roman; its "CSV (MS-DOS)"
    cp850): said so with the remedy, the encoding not guessed."""
    around = buf[max(0, at - 256) : at + 256]
    text = not any(b < 0x20 and b not in b"\t\r\n" for b in around) and b"\x7f" not in around
    near = buf[max(0, at - 1) : at] + buf[at + 1 : at + 2]
    if (
        encoding.startswith("utf-8")
        and text
        and buf[at] >= 0x80
        and any(chr(b).isascii() and (chr(b).isalnum() or chr(b) == " ") for b in near)
    ):  # a letter or symbol of some 8-bit encoding, among text
        begin = max(buf.rfind(b"\n", 0, at), buf.rfind(b"\r", 0, at)) + 1
        where = (
            f"byte {at - begin + 1}" if begin or start == at else f"byte {start + 1} of the file"
        )
        return (
            f"{source}: line {line}, {where}: not UTF-8 (0x{buf[at]:02x}: an 8-bit text file: "
            "Windows-1252, Mac Roman, DOS cp850?); save it as UTF-8 in the program that wrote "
            "it (Excel: CSV UTF-8), or convert it from its encoding (iconv -f ENCODING -t "
            "utf-8 in.csv > out.csv, ENCODING cp1252, macintosh or cp850)"
        )
    audio = (  # stdin has no extension to tell
        "name an audio input's format with input_format (wav, w64, ...)"
        if source == "<stdin>"
        else "give an audio file a .wav/.flac extension"
    )
    return (
        f"{source}: line {line}: not a text file (byte {start + 1} is not "
        f"{encoding.upper()}); expected CSV, or {audio}"
    )


def _line_batches(chunks, source: str, seen: dict, split: bool = True):
    """The lines of a text given as byte ``chunks``, decoded and split chunk by chunk.

    Yields ``(lines, marks)``: ``marks`` holds ``#`` and ``"`` if the lines do.

    The first chunk holds at least the byte-order mark (4 bytes), if any.
    Raises on the first undecodable byte or NUL character (decoding comes
    first within a chunk).  ``seen`` receives ``encoding``, how many line ends of
    each kind were met (``crlf``, ``cr``, ``lf``: a CRLF counted in all three) and
    ``open_end``: ``(number, text)`` of a last line the file ends in without a line end
    (a log copied while it was written, cut short?), else None.  Not ``split``: the text only decoded (nothing yielded), to
    the end but for its last incomplete character (met after the rows).
    """
    chunks = iter(chunks)
    raw = next(chunks, b"")
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # (FF FE 00 00: not UTF-16)
        raise SignalError(
            f"{source}: UTF-32 text, not UTF-8; save it as UTF-8 (e.g. iconv -f utf-32 -t utf-8 "
            "in.csv > out.csv)"
        )
    if raw.startswith(codecs.BOM_UTF8):
        encoding, codec, raw = "utf-8-sig", "utf-8", raw[len(codecs.BOM_UTF8) :]
    elif raw.startswith(codecs.BOM_UTF16_LE):
        encoding = codec = "utf-16"
    elif raw.startswith(codecs.BOM_UTF16_BE):  # written back big-endian (csv_text.encoder)
        encoding, codec = UTF16_BE, "utf-16"
    else:
        encoding = codec = "utf-8"
        if (what := _not_csv(raw)) is not None:
            raise SignalError(f"{source}: {what}")
    seen.update(encoding=encoding, crlf=0, cr=0, lf=0, open_end=None)
    count = 0  # the lines yielded
    decoder = codecs.getincrementaldecoder(codec)()
    fed = fed_nl = text_nl = 0  # body bytes decoded, b"\n" among them, "\n" decoded
    last_raw, last_text = b"", ""  # the chunk before, its line ends not counted yet
    pending = ""
    while True:
        final = not raw
        if final and not split:
            return
        if not final:  # counted only when another chunk follows (not for a whole file)
            fed_nl += last_raw.count(b"\n")
            text_nl += last_text.count("\n")
            last_raw, last_text = b"", ""
        try:
            text = decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            buf = exc.object
            held = len(buf) - len(raw)  # bytes of earlier blocks still in the decoder
            start = fed - held + exc.start
            line = fed_nl + last_raw.count(b"\n") - buf[:held].count(b"\n")
            line += buf[: exc.start].count(b"\n") + 1
            message = _undecodable(source, line, start, buf, exc.start, encoding)
            raise SignalError(message, parameters=["input_format"]) from None
        if "bad" in seen:  # not split: does the rest of the file hold NULs only?
            if seen["bad"][2] is not None:
                seen["bad"][2] = None if text.strip("\x00") else seen["bad"][2] + len(text)
        elif (at := _first_odd_character(text)) >= 0:
            line = text_nl + last_text.count("\n") + text.count("\n", 0, at) + 1
            tail = None
            if text[at] == "\x00" and (fed or at) and not text[at:].strip("\x00"):
                tail = len(text) - at
            seen["bad"] = [line, text[at], tail]
            if split:
                if tail is not None and (rest := _nul_tail("", chunks)) is not None:
                    raise _odd_character(source, line, "\x00", tail + rest)
                raise _odd_character(source, line, text[at], None)
        fed += len(raw)
        if not final:
            last_raw, last_text = raw, text
        if not split:
            raw = next(chunks, b"")
            continue
        s = pending + text
        if final:
            complete, pending = s, ""
        else:
            cut = max(s.rfind("\n"), s.rfind("\r"))
            if cut >= 0 and cut == len(s) - 1 and s[cut] == "\r":  # maybe half a CRLF
                cut = max(s.rfind("\n", 0, cut), s.rfind("\r", 0, cut))
            complete, pending = s[: cut + 1], s[cut + 1 :]
        if complete or final:
            seen["crlf"] += complete.count("\r\n")
            seen["cr"] += complete.count("\r")
            seen["lf"] += complete.count("\n")
            lines = complete.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            if not final:
                lines.pop()  # complete ends with a line end: nothing after it
            elif lines[-1].strip():  # text after the last line end
                seen["open_end"] = count + len(lines), lines[-1]
            count += len(lines)
            yield lines, "".join(m for m in '#"' if m in complete)
        if final:
            return
        raw = next(chunks, b"")


def _first_odd_character(text: str) -> int:
    """Where ``text`` first holds a NUL or a Ctrl-Z character, else -1."""
    found = [i for i in (text.find("\x00"), text.find("\x1a")) if i >= 0]
    return min(found, default=-1)


def _odd_character(source: str, line: int, char: str, tail: int | None) -> SignalError:
    """The refusal of a NUL (``tail``: how many NUL bytes end the file, where nothing
    else follows them, else None) or a Ctrl-Z character met on ``line``."""
    if char == "\x1a":
        return SignalError(
            f"{source}: line {line}: a Ctrl-Z character (0x1A, the DOS end-of-file mark "
            "some Windows programs add); delete it"
        )
    if tail is not None:
        return SignalError(
            f"{source}: line {line}: the file ends in {tail} NUL bytes (a log cut "
            "short by a power loss, or space set aside for it?); what comes before "
            "them is text: remove the NULs (e.g. tr -d '\\000' < in.csv > fixed.csv) "
            "and check its last line"
        )
    return SignalError(
        f"{source}: line {line}: binary data (a NUL byte); expected CSV text, "
        "or give an audio file a .wav/.flac extension"
    )


def _nul_tail(text: str, chunks) -> int | None:
    """How many NUL bytes end a file whose ``text`` from its first NUL on is decoded and
    whose other bytes are the ``chunks`` not read yet, where nothing else follows (a log
    cut short by a power loss, a preallocated file), else None."""
    if text.strip("\x00"):
        return None
    count = len(text)
    for raw in chunks:
        if raw.strip(b"\x00"):
            return None
        count += len(raw)
    return count


def _check_text(chunks, source: str) -> None:
    """Raise what a whole read meets before any row, as when its text was decoded at
    once: the first undecodable byte anywhere in the file, else its first NUL or
    Ctrl-Z character."""
    seen: dict = {}
    for _ in _line_batches(chunks, source, seen, split=False):
        pass
    if "bad" in seen:
        raise _odd_character(source, *seen["bad"])
