"""CSV files: one reader (:class:`CsvReader`) and its two doors.

:func:`read_csv` (whole: the bytes in memory, checked and gathered in one
pass, a piece of ``READ_BYTES`` at a time: only the numbers and the carried
columns' text are kept) and :func:`open_csv` (blocks: the file checked in one pass, then read
again block by block) go through the same decisions, made once: dialect,
header, time column, columns, bad cells, the 2-sample minimum.  The
dialect (delimiter, decimal mark, header) is decided on the first 64 data
lines; what needs every row (time column, trailing delimiter, line ends,
the first bad cell of each column) is learnt by the checking pass.

The delimiter is sniffed (comma, tab, semicolon, pipe, runs of whitespace, or
a single column) unless given; UTF-8 with or without a byte-order mark (and
UTF-16 with one), LF, CRLF or CR line ends, quoted fields, ``#`` comment
lines and blank lines are accepted.  A header row is detected (a first row
without a single number in it, or pandas' names ``0,1,...`` over rows of fractions;
another first row of whole numbers over rows of fractions is asked) or declared.  A
decimal comma (``1,5;2,25``) is recognised when the delimiter is not a comma (where
every comma may be digit grouping, ``1,002``, it is asked), or declared.  The comment
and blank lines before the data (the preamble) are written back verbatim, the
comment lines among and after the rows where they were; a
last preamble comment with the column names (``np.savetxt(header=...)``)
serves as the header.

A time or index column is carried through unchanged and not filtered: the
first column when its header is time-like (``time``, ``t [s]``, ``index``,
``sample``, an empty pandas index name, ...) and its values are monotone,
ties allowed (or not numbers at all, as timestamps; a first column whose every cell is
an ISO 8601 stamp with a date, whatever its name; numbers that go up and
down there are refused, not guessed; a one-letter name other than ``t``, as ``T`` or
``N``, only where its numbers are strictly monotone and equally spaced, else asked), or,
without a header, the first of
several columns when it is exactly equally spaced; or the column named
(or numbered from 1) by ``time_column``.  Asked rather than guessed: a first column not
named like time whose values are a time axis's (strictly monotone), another column named
like time and monotone.  Refused: a time column of numbers and text (a footer row).
``columns`` picks the channels to filter by name or number; the columns not picked are
carried through unchanged like the time column (they need not be numeric).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import replace
from functools import partial

import numpy as np

from ..errors import ParameterError, SignalError, counted, too_short
from .csv_cells import (
    _COMMA_PAIR,
    _DECIMAL_COMMA,
    _bad_cell_at,
    _columns,
    _ColumnScan,
    _dated,
    _first_bad,
    _grouped_commas,
    _inexact,
    _inexact_note,
    _integer_header,
    _is_number,
    _is_time_name,
    _mixed_time,
    _pandas_header,
    _preamble_above,
    _quoted_break,
    _sniff,
    _split,
    _split_decimal,
    _stamp_seconds,
    _time_axis_unnamed,
    _time_elsewhere,
    _time_name_kind,
    _TimeScan,
    _to_float,
    _uneven,
    _unsure_header,
    _unsure_time,
    excel_error,
    missing_remedy,
    most_line_end,
)
from .csv_codes import missing_code
from .csv_lines import _check_text, _file_chunks, _line_batches
from .options import ReadOptions, join_columns
from .signal import (
    CsvLayout,
    Signal,
    SignalStream,
    _column_name,
    _show,
    column_label,
    csv_rate,
    excel_sep,
    rate_in,
)

#: Data lines the dialect (delimiter, decimal mark, header) is decided on.
_HEAD_LINES = 64


def _data_line(line: str) -> bool:
    s = line.strip()
    return bool(s) and (s[0] != "#" or excel_error(s))


def _comment_line(line: str) -> bool:
    """A ``#`` line, but not a row whose first cell is a spreadsheet's error value
    (``#N/A``, ``#DIV/0!``: a sample, refused as not a number, never a comment)."""
    s = line.lstrip()
    return s.startswith("#") and not excel_error(s)


def _batch_data_lines(batch: list[str], marks: str, before: int, skip: int):
    """Line numbers and text of the data lines of a batch of lines.

    ``before`` lines precede the batch; lines numbered up to ``skip`` (the
    preamble and the header) are not data; ``marks`` holds ``#`` and ``"``
    if the batch does.  Without comments or blank lines (the usual case)
    the numbers are a ``range``.
    """
    start = max(0, skip - before)
    lines = batch[start:] if start else batch
    if lines and "#" not in marks and all(map(str.strip, lines)):
        return range(before + start + 1, before + len(batch) + 1), lines
    linenos = [i for i, line in enumerate(batch, before + 1) if i > skip and _data_line(line)]
    return linenos, [batch[i - before - 1] for i in linenos]


class CsvReader:
    """One CSV file: every decision made once, in one checking pass.

    ``chunks()`` gives the file's bytes afresh for each pass (a list of one
    piece for a file read whole).  :meth:`check` decodes, splits and checks
    every row and returns the :class:`SignalStream`; then :meth:`gather`
    (the rows the check kept) or :meth:`blocks` (the file read again) give
    the samples.
    """

    def __init__(self, source: str, chunks, options: ReadOptions):
        self.source, self.chunks, self.options = source, chunks, options
        self.delim, self.decimal = options.dialect()
        self.header_opt = options.header

    # ---- the checking pass ------------------------------------------------

    def check(self, visit=None, keep=None) -> SignalStream:
        """Read every row once, batch by batch, and decide.

        ``visit(block)`` gets the batch's numbers as :func:`open_signal_stream`
        describes; ``keep(numbers, cells)`` its columns' arrays (see
        :meth:`_scan`) and cells, for :meth:`gather`.
        """
        source = self.source
        seen: dict = {}
        batches = _line_batches(self.chunks(), source, seen)
        head: list[str] = []
        data_at: list[int] = []  # indexes into head of its first data lines
        head_marks = ""
        for batch, marks in batches:
            head_marks += marks
            start = len(head)
            if start:
                head.extend(batch)
            else:
                head = batch  # a file read whole is one batch: not copied
            for i in range(start, len(head)):
                if _data_line(head[i]) and not (i == 0 and excel_sep(head[0])):
                    data_at.append(i)
                    if len(data_at) >= _HEAD_LINES:
                        break
            if len(data_at) >= _HEAD_LINES:
                break
        if not data_at:
            raise SignalError(f"{source}: no data (only blank or comment lines)")
        if (sep := excel_sep(head[0])) is not None:
            self._declared(sep)
        self._analyse_head(head, data_at)
        scans = [_ColumnScan() for _ in range(self.width)]
        time_scan = _TimeScan()
        rows = 0
        skip = data_at[0] + (1 if self.has_header else 0)  # preamble and header lines
        self.comments: list = []
        batches = itertools.chain(((head, head_marks),), batches)
        for linenos, cols in self._rows(batches, skip, self.comments):
            numbers = self._scan(cols, linenos, rows, scans, time_scan)
            rows += len(linenos)
            if visit is not None:
                block = np.full((len(linenos), self.width), np.nan)
                for p, a in enumerate(numbers):
                    if a is not None:
                        block[:, p] = a
                visit(block)
            if keep is not None:
                keep(numbers, cols)
        if rows == 0:
            raise SignalError(f"{source}: header on line {data_at[0] + 1} but no data rows")
        return self._decide(scans, time_scan, rows, seen)

    def _rows(self, batches, skip: int, comments: list | None = None):
        """``(line numbers, cells column by column)`` of each batch's data lines.

        ``batches`` as :func:`_line_batches` yields them, from the file's
        first line; lines numbered up to ``skip`` are the preamble and header.
        ``comments`` receives the ``#`` lines after them as ``(data rows before
        it, line)``.  In a file of one column, an empty line between rows (a
        spreadsheet's empty cell) is refused, as an empty cell of several columns is.
        """
        lineno = rows = 0
        blank = None  # one column: an empty line after the last row so far
        for batch, marks in batches:
            linenos, lines = _batch_data_lines(batch, marks, lineno, skip)
            if self.width == 1 and (blank is not None or not isinstance(linenos, range)):
                blank = self._empty_cell_line(batch, lineno, skip, blank, rows > 0)
            if comments is not None and "#" in marks:
                for i, line in enumerate(batch, lineno + 1):
                    if i > skip and _comment_line(line):
                        comments.append((rows + bisect.bisect_left(linenos, i), line))
            lineno += len(batch)
            rows += len(linenos)
            if lines:
                yield linenos, self._cells(lines, linenos, '"' in marks)

    def _empty_cell_line(self, batch, before: int, skip: int, blank, seen: bool):
        """The first empty line of ``batch`` after a row (``seen``: rows before it), or
        ``blank`` (one before it); SignalError where a row follows one."""
        for i, line in enumerate(batch, before + 1):
            if i <= skip:
                continue
            if not line.strip():
                blank = i if blank is None and seen else blank
            elif _data_line(line):
                if blank is not None:
                    raise SignalError(
                        f"{self.source}: line {blank} is empty, between the rows of a file of "
                        "one column (a spreadsheet's empty cell?); every sample needs a "
                        f"number: fill it in or delete line {blank}"
                    )
                seen = True
        return blank

    def _scan(self, cols, linenos, rows: int, scans, time_scan) -> list:
        """The numbers of a batch's columns, noting what ``_decide`` needs.

        Each column's float64 array, NaN for inf and nan, or None when a cell
        is not a number.
        """
        numbers: list = [None] * len(cols)
        for p, cells in enumerate(cols):
            sc = scans[p]
            if not sc.nonempty:
                sc.nonempty = any(map(str.strip, cells))
            a = _to_float(cells, self.decimal) if sc.bad is None else None
            if p == 0 and self.time_named:
                sc.mixed(cells, linenos, a)
            if p == 0 and a is None and sc.all_nonempty:  # timestamps need every cell
                sc.all_nonempty = all(map(str.strip, cells))  # (numbers are never blank)
            if p == 0 and a is None and self.stamps is not None:
                stamps = _stamp_seconds(cells) if sc.all_nonempty else None
                self.dated = self.dated and stamps is not None and _dated(cells)
                self.stamps = None if stamps is None else self.stamps
                if stamps is not None:
                    self.stamps.add(stamps)
            if a is None:
                if sc.bad is None:
                    r = _first_bad(cells, self.decimal)
                    sc.bad = (rows + r, linenos[r], cells[r])
                    sc.numeric = False
                continue
            finite = np.isfinite(a)
            if not finite.all():
                if sc.nonfinite is None:
                    r = int(np.flatnonzero(~finite)[0])
                    sc.nonfinite = (linenos[r], cells[r])
                sc.numeric = False
                a = np.where(finite, a, np.nan)
            numbers[p] = a
            sc.whole(cells)
            sc.fixed(cells, self.decimal)
            sc.coded(cells, a, linenos)
            if sc.inexact is None:
                sc.inexact = _inexact(cells, a, linenos)
            if p == 0 and sc.numeric and self.options.time_column is None:  # else decided by name
                time_scan.add(a)
            elif p in self.named_scans and sc.numeric:
                self.named_scans[p].add(a)
        return numbers

    def _declared(self, sep: str) -> None:
        """The delimiter line 1 declares (Excel's ``sep=;``, kept in the preamble), or
        ParameterError where ``delimiter`` says another."""
        if self.delim is not None and self.delim != sep:
            raise ParameterError(
                f"{self.source}: line 1 (Excel's 'sep={sep}') declares the delimiter {sep!r}, "
                f"and delimiter={self.delim!r} another; drop delimiter, or correct line 1",
                parameters=["delimiter"],
            )
        self.delim = sep

    def _analyse_head(self, head: list[str], data_at: list[int]) -> None:
        """Dialect, header and width from the first data lines."""
        delim, decimal = self.delim, self.decimal
        data_lines = [head[i] for i in data_at[:_HEAD_LINES]]
        if any('"' in ln for ln in data_lines):
            linenos = [i + 1 for i in data_at[:_HEAD_LINES]]
            if (err := _quoted_break(self.source, data_lines, linenos)) is not None:
                raise err
        self.preamble = tuple(head[: data_at[0]])
        if delim is None:
            delim = _sniff(data_lines, decimal)
        if delim == "" or not any(delim in ln for ln in data_lines):
            delim = ""
        self.delim = delim
        self.out_delim = delim if delim else ","
        cells0 = _split(data_lines[0], delim)
        rows = [_split(ln, delim) for ln in data_lines]
        if decimal is None:
            comma = delim != "," and any(_DECIMAL_COMMA.match(c) for row in rows for c in row)
            if comma:  # 1,002: a thousand and two, or one and two thousandths?
                names = None if any(_is_number(c, ",") for c in cells0) else cells0
                linenos = [i + 1 for i in data_at[:_HEAD_LINES]]
                if (err := _grouped_commas(rows, linenos, names, self.source)) is not None:
                    raise err
            decimal = "," if comma else "."
        self.decimal = decimal
        if self.header_opt is None:
            linenos = [i + 1 for i in data_at[:_HEAD_LINES]]
            if err := _preamble_above(self.source, data_lines, linenos, delim, decimal):
                raise err
            self.has_header = not any(_is_number(c, decimal) for c in cells0)
            self.has_header = self.has_header or _pandas_header(cells0)
            if not self.has_header:  # 0,1 over rows of fractions: pandas' names
                whole = _integer_header(rows, decimal)
                if whole is False:
                    raise _unsure_header(self.source, data_at[0] + 1, data_lines[0])
                self.has_header = bool(whole)
        else:
            self.has_header = bool(self.header_opt)
        if self.options.delimiter is None and self.options.decimal is None and delim == ",":
            body, at = data_lines[self.has_header :], data_at[self.has_header : _HEAD_LINES]
            linenos = [i + 1 for i in at]
            if not self.has_header and (err := _split_decimal(self.source, body, linenos)):
                raise err
        self.width = len(cells0)
        self.header = None
        self.header_text = None  # (the line as written: its blanks kept)
        self.quote_header = False
        self.ref = f"line {data_at[0] + 1}"
        first_data = 0
        if self.has_header:
            self.header, self.header_text = cells0, data_lines[0]
            self.quote_header = data_lines[0].lstrip().startswith('"')
            self.ref = f"the header on line {data_at[0] + 1}"
            first_data = 1
        rest = data_lines[first_data:]
        self.quote_data = bool(rest) and rest[0].lstrip().startswith('"')
        detect = self.options.time_column is None
        named = [detect and self.header is not None and _is_time_name(n) for n in cells0]
        self.time_named = named[0]  # its cells numbers and text? (_ColumnScan.mixed)
        # its steps, where its cells are ISO 8601 stamps (text): a gap is warned of as in
        # numbers; a first column whose every cell is such a stamp is the time column
        # whatever its name (``Datum/Zeit``, ``Fecha``: text, no signal to filter)
        self.stamps = _TimeScan() if detect else None
        self.dated = True  # every stamp so far has a date, 2026-03-01 (not a year alone, 17)
        self.named_scans = {  # columns besides the first named like time (not the empty name)
            p: _TimeScan()
            for p in range(1, len(cells0))
            if named[p] and cells0[p].strip() and self.options.columns is None
        }
        # of these, the one-letter names (T, N, n, ...): time only as an equally spaced axis
        self.weak_named = {p for p in self.named_scans if _time_name_kind(cells0[p]) == "weak"}
        # The columns whose text a whole read keeps, the only ones that may be carried: with
        # neither columns nor time_column given, a first column found to be time (named like
        # time, no header, or text, as stamps are); else (columns picked by name, a header in
        # the preamble) all.
        if self.options.columns is None and self.options.time_column is None:
            text = bool(rest) and not _is_number(_split(rest[0], delim)[0], decimal)
            first = len(cells0) >= 2 and (self.header is None or named[0] or text)
            self.may_carry: tuple | None = (0,) if first else ()
        else:
            self.may_carry = None

    def _cells(self, lines: list[str], linenos, quoted: bool) -> list[list[str]]:
        if quoted and (err := _quoted_break(self.source, lines, linenos)) is not None:
            raise err
        cols = _columns(lines, self.delim, self.width, quoted)
        if isinstance(cols, tuple):  # ragged: (row, number of fields)
            r, got = cols
            hint, named = "every row needs the same number of columns", []
            one = self.width == 1 and self.options.delimiter is None and self.delim == ","
            if one and self.options.decimal is None and _COMMA_PAIR.match(lines[r]):
                hint = "a decimal comma in one column? declare it with decimal=','"
                named = [("decimal", ",")]
            raise SignalError(
                f"{self.source}: line {linenos[r]} has {counted(got, 'field')}, "
                f"expected {self.width} as on {self.ref} (delimiter {self.out_delim!r}; {hint})",
                parameters=named,
            )
        return cols

    def _decide(self, scans, time_scan, rows, seen) -> SignalStream:
        """The decisions on the whole file, from the pass's findings."""
        source, decimal = self.source, self.decimal
        header, width = self.header, self.width  # width: a trailing empty column included
        trailing = width >= 2 and not scans[-1].nonempty
        if trailing and (header is None or not header[-1]):
            width -= 1
            if header is not None:
                header = header[:-1]
        else:
            trailing = False
        header_in_preamble = False
        if header is None and self.header_opt is None and self.preamble:
            last = next(
                (ln for ln in reversed(self.preamble) if ln.strip() and rate_in(ln) is None), ""
            )
            if last.lstrip().startswith("#"):
                names = last.lstrip()[1:].strip()
                names = _split(names, self.delim) if self.delim else [last.lstrip()[1:]]
                names = [n.strip() for n in names]
                if len(names) == width and not any(_is_number(n, decimal) for n in names):
                    header, header_in_preamble = names, True
        tcol = self.options.time_column_index(header, width, source)
        picked = self.options.picked(header, width, source)
        if tcol is not None and picked is not None and tcol in picked:
            raise ParameterError(
                f"{source}: column {_column_name(header, tcol)!r} is both the time column "
                "and a column to filter"
            )
        detected = tcol is None  # (the time column found by name and values, not given)
        ask = None  # the question a time axis not named so asks
        if (
            tcol is None
            and self.options.time_column is None
            and width >= 2
            and (picked is None or 0 not in picked)
        ):
            named = header is not None and _is_time_name(header[0])
            weak = named and _time_name_kind(header[0]) == "weak"
            stamped = self.stamps is not None and self.stamps.count == rows and self.dated
            if header is None or named or stamped:
                sc = scans[0]
                if not sc.numeric:
                    if named and (err := _mixed_time(source, header, sc.text_at, sc.number_at)):
                        raise err
                    looks = (named or stamped) and sc.all_nonempty
                else:
                    looks = time_scan.looks_like_time(named and not weak)
                    if named and not looks and picked is None and time_scan.count >= 2:
                        raise _unsure_time(source, header[0], weak)
                    if header is None and not looks and picked is None:  # a gap in it?
                        if time_scan.axis() == "monotone":
                            ask = _time_axis_unnamed(source, None, False)
                if looks:
                    tcol = 0
            elif picked is None and scans[0].numeric and (axis := time_scan.axis()) is not None:
                ask = _time_axis_unnamed(source, header[0], axis == "equal")
        positions = [p for p in range(width) if p != tcol and (picked is None or p in picked)]
        if not positions:
            raise ParameterError(f"{source}: no column left to filter besides the time column")
        for p in positions if self.options.time_column is None and ask is None else ():
            ts = self.named_scans.get(p)
            strong = p not in self.weak_named
            if ts is not None and scans[p].numeric and ts.looks_like_time(strong) and ts.moved:
                others = [q for q in positions if q != p]
                if others:
                    every = self._spelled(positions, header)
                    ask = _time_elsewhere(source, header, p, self._spelled(others, header), every)
                    break
        for p in positions:
            sc = scans[p]
            if sc.bad is not None:
                r, lineno, cell = sc.bad
                hint = header is None and self.header_opt is None
                text_of = partial(self._instead_of_text, p, scans, tcol, header)
                delim = self.delim if width > 1 else ""
                raise _bad_cell_at(
                    cell,
                    r == 0,
                    lineno,
                    p,
                    header,
                    source,
                    decimal,
                    delim,
                    hint,
                    text_of,
                    delim_given=self.options.delimiter is not None,
                    series=tcol is not None,
                )
            if sc.nonfinite is not None:
                lineno, cell = sc.nonfinite
                remedy = f"replace it with one or delete line {lineno}"
                if tcol is not None:
                    remedy = f"correct it, or, a missing reading: {missing_remedy(lineno)}"
                raise SignalError(
                    f"{source}: line {lineno}, {column_label(header, p)}: {_show(cell.strip())} "
                    f"is not a finite number; {remedy}"
                )
            if (err := missing_code(source, header, p, sc)) is not None:
                raise err
        if ask is not None:  # a time column? asked of a file whose columns all read
            raise ask
        if rows < len(positions) and self.options.columns is None:  # a row vector too
            named = rows > 1  # (one row: too short whichever columns are named)
            raise SignalError(
                f"{source}: {counted(rows, 'row')} of {len(positions)} columns: a signal runs "
                "down its columns, so this looks like one signal per row; transpose the file "
                "(one column per signal"
                + ("), or name the columns to filter with columns" if named else "; MATLAB: "
                   "writematrix(x(:), name), NumPy: np.savetxt(name, x.ravel()))"),
                parameters=["columns"] if named else [],
            )  # fmt: skip
        if rows < 2:
            raise too_short(source, rows, "data row")
        newline = most_line_end(seen["crlf"], seen["cr"], seen["lf"])
        layout = CsvLayout(
            decimal=decimal,
            newline=newline,
            encoding=seen["encoding"],
            preamble=self.preamble,
            header_in_preamble=header_in_preamble,
            quote_header=self.quote_header,
            quote_data=self.quote_data,
            trailing_delimiter=trailing,
            comments=tuple(self.comments),
            whole_columns=tuple(p for p in positions if scans[p].integers),
            places=tuple((p, scans[p].places) for p in positions if scans[p].places),
            decimals=tuple(
                (p, scans[p].most_places) for p in positions if scans[p].most_places is not None
            ),
            header_text=self.header_text,
        )
        uneven = detected and tcol == 0 and scans[0].numeric  # its steps: all known
        stamped = detected and tcol == 0 and not scans[0].numeric and self.stamps is not None
        self.positions = positions
        self.carried_at = [p for p in range(width) if p not in positions]
        shape = (0,) if len(positions) == 1 else (0, len(positions))
        template = Signal(
            data=np.zeros(shape),
            source=source,
            format="CSV",
            header=header,
            delimiter=self.out_delim,
            positions=tuple(positions),
            carried={p: [] for p in self.carried_at},
            time_column=tcol,
            layout=layout,
            samplerate=self.options.rate(csv_rate(self.preamble), source),
            notes=(
                *(_uneven(source, header, time_scan) if uneven else ()),
                *(_uneven(source, header, self.stamps, " s") if stamped else ()),
                *_inexact_note(source, header, [(p, scans[p].inexact) for p in positions]),
                *_open_end(source, seen["open_end"], len(self.preamble) + self.has_header),
            ),
        )
        return SignalStream(template=template, frames=rows, width=width, _reader=self)

    def _instead_of_text(self, p: int, scans, tcol, header) -> str | None:
        """Where column ``p`` holds no number in any row, the columns to filter instead
        (every other column of numbers, one with a cell that is no number too, whose
        error a run then says; by name where the names are plain, else by number), as
        ``columns`` takes them; else None.  On the way to refusing the file only: it is
        read again."""
        others = [q for q in range(len(scans)) if q not in (p, tcol) and scans[q].nonfinite is None]
        unread = {q for q in others if scans[q].bad is not None}  # a number in it?
        skip = len(self.preamble) + (1 if self.has_header else 0)
        for _, cols in self._rows(_line_batches(self.chunks(), self.source, {}), skip):
            if any(_is_number(c, self.decimal) for c in cols[p]):
                return None
            unread -= {q for q in unread if any(_is_number(c, self.decimal) for c in cols[q])}
        others = [q for q in others if q not in unread]
        return self._spelled(others, header) if others else None

    @staticmethod
    def _spelled(cols: list[int], header) -> str:
        """Columns ``cols`` as ``columns`` takes them: by name where the names are plain,
        else by number."""
        names = [header[q] for q in cols] if header is not None else []
        plain = all(n.strip() and not n.strip().isdigit() and header.count(n) == 1 for n in names)
        return join_columns(names if names and plain else [str(q + 1) for q in cols])

    # ---- the two doors' samples -------------------------------------------

    def kept(self, numbers: list, cols: list) -> tuple:
        """What a whole read keeps of a batch (``keep``'s arguments): its numbers, and the
        text of the columns that may be carried only (:attr:`may_carry`; every column's
        text, 50-60 bytes a cell, is dropped with the batch)."""
        if self.may_carry is None:
            return numbers, cols
        return numbers, {p: cols[p] for p in self.may_carry}

    def gather(self, stream: SignalStream, kept: list) -> Signal:
        """The :class:`Signal` of the rows :meth:`check` kept (:meth:`kept`'s pieces),
        emptying ``kept``: each batch's numbers are copied into the one float64 array
        and let go, the carried text joined."""
        chain = itertools.chain.from_iterable
        carried = {p: list(chain(cols[p] for _, cols in kept)) for p in self.carried_at}
        positions = self.positions  # all finite numbers: check raised otherwise
        if len(kept) == 1 and len(positions) == 1:
            data = kept[0][0][positions[0]]
        else:
            rows = sum(len(numbers[positions[0]]) for numbers, _ in kept)
            shape = (rows,) if len(positions) == 1 else (rows, len(positions))
            data = np.empty(shape)
            at = 0
            kept.reverse()  # popped from the end: the first batch first
            while kept:
                numbers, _ = kept.pop()
                n = len(numbers[positions[0]])
                if len(positions) == 1:
                    data[at : at + n] = numbers[positions[0]]
                else:
                    for c, p in enumerate(positions):
                        data[at : at + n, c] = numbers[p]
                at += n
        return replace(stream.template, data=data, carried=carried)

    def blocks(self, stream: SignalStream, stored: bool = False):
        """Read the file again: ``(data, carried)`` batch by batch (float64: text has
        no stored floats, ``stored`` changes nothing)."""
        seen: dict = {}
        skip = len(self.preamble) + (1 if self.has_header else 0)
        rows = 0
        for linenos, cols in self._rows(_line_batches(self.chunks(), self.source, seen), skip):
            arrays = []
            for p in self.positions:
                a = _to_float(cols[p], self.decimal)
                if a is None or not np.all(np.isfinite(a)):
                    raise SignalError(f"{self.source}: the file changed while it was read")
                arrays.append(a)
            data = arrays[0] if len(arrays) == 1 else np.stack(arrays, axis=1)
            carried = {p: list(cols[p]) for p in self.carried_at}
            rows += len(linenos)
            yield data, carried
        if rows != stream.frames:
            raise SignalError(f"{self.source}: the file changed while it was read")


def _open_end(source: str, end, skip: int) -> tuple[str, ...]:
    """The warning of a last data row with no line end after it (``end``: ``(line number,
    text)`` or None; lines up to ``skip``, the preamble and header, are no rows): a log
    copied while it was written ends in the middle of a row, its last number cut short
    (``2541`` read as ``25``), and nothing else tells; a file merely saved without a
    final line end is warned of too (it cannot be told apart), or nothing."""
    if end is None or end[0] <= skip or not _data_line(end[1]):
        return ()
    lineno, text = end
    return (
        f"{source}: line {lineno} ({_show(text.strip())}) ends the file without a line end: "
        "a row cut short (a log copied while it was written)? It is filtered as read; copy "
        "the file again once it is complete (a file saved without a final line end: add one "
        "to silence this)",
    )


def read_csv(raw: bytes, source: str, options: ReadOptions) -> Signal:
    """The whole door: a CSV file's bytes, checked and gathered in one pass."""
    return _whole(CsvReader(source, partial(_pieces, raw), options))


def read_csv_file(path: str, source: str, options: ReadOptions) -> Signal:
    """The whole door of a CSV file on disk: as :func:`read_csv` of its bytes, read a
    piece at a time (its bytes are never held whole)."""
    chunks = partial(_file_chunks, path, source, piece=WHOLE_PIECE)
    return _whole(CsvReader(source, chunks, options))


#: Bytes of a CSV file read whole split into cells and parsed at a time: the lines and
#: cells of a piece (~125 bytes a value) are let go before the next; only the numbers
#: and the carried columns' text are kept.  At least 64 KiB (the first piece is the
#: file's head for :func:`_not_csv`, as the whole text was).
WHOLE_PIECE = 1 << 20


def _pieces(raw: bytes):
    """A file's bytes in pieces of :data:`WHOLE_PIECE` (the first at least 4: any
    byte-order mark)."""
    first = max(WHOLE_PIECE, 4)
    yield raw[:first]
    for at in range(first, len(raw), WHOLE_PIECE):
        yield raw[at : at + WHOLE_PIECE]


def _whole(reader: CsvReader) -> Signal:
    """The whole door: the text checked first (:func:`_check_text`), then one pass that
    checks and keeps the numbers (:meth:`CsvReader.kept`), gathered."""
    _check_text(reader.chunks(), reader.source)
    kept: list = []
    stream = reader.check(keep=lambda numbers, cols: kept.append(reader.kept(numbers, cols)))
    return reader.gather(stream, kept)


def open_csv(path: str, source: str, options: ReadOptions, visit=None, read=None) -> SignalStream:
    """The blocks door: a CSV file checked in one pass, then read in blocks on demand;
    ``read(done)`` after each piece the checking pass reads (the bytes so far; the
    later passes tell nothing)."""
    told = iter([read])  # the first pass's chunks only
    reader = CsvReader(source, lambda: _file_chunks(path, source, next(told, None)), options)
    return reader.check(visit=visit)
