"""Process-tree memory for the benchmarks that fork workers (feeds, fanout)."""

from __future__ import annotations


def tree_pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` and its descendants, from /proc (0 when gone).

    PSS, not RSS: forked workers share most of their pages with the parent, and summing RSS
    would count those pages once per process.
    """
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as handle:
                stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total
