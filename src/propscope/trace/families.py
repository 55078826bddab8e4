"""Story families: articles connected by reuse links, each with its earliest member as the probable origin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .model import ReuseLink, StoryFamily, compare_dates, parse_date


def families(
    links: Sequence[ReuseLink], published: Mapping[str, str | None], *, include_quotation: bool = False
) -> list[StoryFamily]:
    """Connected groups of articles linked by reuse (quotation-only links left out unless asked), largest
    first.

    The origin is the member with the earliest date when exactly one member has it; with dates missing or
    several members on the earliest date, it is None (unknown), as for a link's direction.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    used = [lk for lk in links if include_quotation or lk.kind != "quotation"]
    for lk in used:
        ra, rb = find(lk.source), find(lk.copy_id)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    n_links: dict[str, int] = {}
    for lk in used:
        r = find(lk.source)
        n_links[r] = n_links.get(r, 0) + 1
    out = []
    for root, members in groups.items():
        members.sort()
        best: list[str] = []
        for m in members:
            if parse_date(published.get(m)) is None:
                continue
            c = compare_dates(published.get(m), published.get(best[0])) if best else -1
            if c == -1:
                best = [m]
            elif c is None:
                best.append(m)
        origin = best[0] if len(best) == 1 else None
        out.append(
            StoryFamily(
                id=0,
                members=members,
                origin=origin,
                origin_published=published.get(origin) if origin else None,
                links=n_links.get(root, 0),
            )
        )
    out.sort(key=lambda f: (-len(f.members), f.members[0]))
    return [f.model_copy(update={"id": k + 1}) for k, f in enumerate(out)]
