"""Positions inside string scalars: a file's text indexed by line, and literal block scalars
(``values: |``, kustomize patches written inline) mapped line by line onto the file."""

from __future__ import annotations

import re
from bisect import bisect_left

Pos = tuple[int, int]


class SourceLines:
    """A file's text indexed by line, built once per file so position lookups stay cheap."""

    __slots__ = ("text", "_starts", "_blocks")

    def __init__(self, text: str | None) -> None:
        self.text = text
        self._starts: list[int] | None = None
        self._blocks: dict[tuple[Pos, str], _Block] = {}

    def _bounds(self, line_no: int) -> tuple[int, int] | None:
        """(start, end) offsets of line ``line_no`` (1-based) without its newline, or None."""
        if self.text is None or line_no < 1:
            return None
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        if line_no > len(self._starts):
            return None
        end = self._starts[line_no] - 1 if line_no < len(self._starts) else len(self.text)
        return self._starts[line_no - 1], end

    def line(self, line_no: int) -> str | None:
        """Line ``line_no`` (1-based) without its newline, or None when out of range."""
        bounds = self._bounds(line_no)
        return None if bounds is None or self.text is None else self.text[bounds[0]:bounds[1]]

    def char_at(self, pos: Pos) -> str | None:
        """The character at a 1-based (line, column), or None."""
        bounds = self._bounds(pos[0])
        # Indexed, not sliced: a caller asks once per match, and the line may be megabytes long.
        if bounds is None or self.text is None or pos[1] < 1 or pos[1] > bounds[1] - bounds[0]:
            return None
        return self.text[bounds[0] + pos[1] - 1]

    def block(self, value_pos: Pos, value: str) -> _Block:
        """The line index of the literal block scalar ``value`` at ``value_pos``, made on first use."""
        key = (value_pos, value)
        found = self._blocks.get(key)
        if found is None:
            found = self._blocks[key] = _Block(self, value_pos, value)
        return found


class _Block:
    """Where each line of a literal block scalar starts in the value and in the file.

    Built once per scalar, so that placing each of many matches in one value costs a bisection,
    not a scan of the value (110k tokens in one scalar took a minute).
    """

    __slots__ = ("lines", "first_line", "value", "breaks", "_indent")

    def __init__(self, lines: SourceLines, value_pos: Pos, value: str) -> None:
        self.lines = lines
        self.first_line = value_pos[0] + 1
        self.value = value
        self.breaks = [m.start() for m in re.finditer("\n", value)]
        self._indent: dict[int, int] = {}

    def pos(self, offset: int) -> Pos:
        """The file position of ``value[offset]``."""
        value, breaks = self.value, self.breaks
        offset = max(0, min(offset, len(value)))
        inner = bisect_left(breaks, offset)  # the newlines before offset
        start = breaks[inner - 1] + 1 if inner else 0
        indent = self._indent.get(inner)
        if indent is None:
            end = breaks[inner] if inner < len(breaks) else len(value)
            in_string = value[start:end]
            file_line = self.lines.line(self.first_line + inner) or ""
            indent = len(file_line) - len(in_string) if in_string and file_line.endswith(in_string) else 0
            indent = self._indent[inner] = max(0, indent)
        return self.first_line + inner, indent + (offset - start) + 1


def string_pos(lines: SourceLines | None, value_pos: Pos, value: str, offset: int) -> Pos:
    """The file position of ``value[offset]`` for a string scalar that starts at ``value_pos``.

    Exact for literal block scalars (``|``, ``|-``, ``|+``, with or without an indentation
    indicator), whose lines map one to one to the file's lines after the indicator line; any
    other scalar (plain, quoted, folded) gives the scalar's own position.
    """
    if lines is None or lines.char_at(value_pos) != "|":
        return value_pos
    return lines.block(value_pos, value).pos(offset)


def block_line(lines: SourceLines | None, value_pos: Pos, inner_line: int, value: str | None = None) -> Pos:
    """The file position of line ``inner_line`` (0-based) of a literal block scalar, else ``value_pos``.

    The column is that of ``value`` after the line's first ``:`` when given and found there, else
    the line's first non-blank character.
    """
    if lines is None or lines.char_at(value_pos) != "|":
        return value_pos
    file_line = lines.line(value_pos[0] + 1 + inner_line) or ""
    col = len(file_line) - len(file_line.lstrip(" ")) + 1
    if value:
        found = file_line.find(value, file_line.find(":") + 1)
        if found != -1:
            col = found + 1
    return value_pos[0] + 1 + inner_line, col
