"""The union of boxes (one inclusive integer range per axis: peer addresses x ports, say) as
boxes that do not overlap: what an nftables interval set of concatenations takes, which
refuses an element that overlaps another. Two rules of a group that overlap (port 80 from
anywhere and every port from 10.0.0.0/8) must become elements that do not."""

from __future__ import annotations

Box = tuple[tuple[int, int], ...]


def disjoint(boxes: list[Box]) -> list[Box]:
    boxes = list(dict.fromkeys(boxes))
    if not boxes:
        return []
    if len(boxes[0]) == 1:
        return [((low, high),) for low, high in _merge([b[0] for b in boxes])]
    # cut the first axis where any box starts or ends, solve the rest per piece, and join
    # neighbouring pieces whose rest came out the same
    cuts = sorted({b[0][0] for b in boxes} | {b[0][1] + 1 for b in boxes})
    pieces: list[tuple[tuple[int, int], list[Box]]] = []
    for low, next_low in zip(cuts, cuts[1:]):
        inside = [b[1:] for b in boxes if b[0][0] <= low and next_low - 1 <= b[0][1]]
        rest = disjoint(inside) if inside else []
        if pieces and pieces[-1][1] == rest and pieces[-1][0][1] + 1 == low:
            pieces[-1] = ((pieces[-1][0][0], next_low - 1), rest)
        else:
            pieces.append(((low, next_low - 1), rest))
    return [(span, *r) for span, rest in pieces for r in rest]


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], high)
        else:
            out.append([low, high])
    return [(a, b) for a, b in out]
