#!/usr/bin/env python3
"""Writes crew-bench knapsack's instance of N items (default 26) in the
input format of Lace's knapsack benchmark (benchmarks/knapsack in Lace:
the item count, the capacity, then one "value weight" pair per item), so
that the two programs race on the same items (docs/benchmarks.md,
"Against Lace"). The instance is ks_instance's in
benchmarks/bench_knapsack.c: item i has weight 10 + h mod 91 and value
10 + (h >> 32) mod 91 for h = mix64(0x4B00000000000000 + i), drawn again
while its value / weight equals an earlier item's; the capacity is half
the total weight. Prints the best value (dynamic programming) on stderr:
Lace's answer and crew-bench's must both be it.

    python3 scripts/knapsack-lace-input.py [N] > items.txt
"""
import sys

MASK = (1 << 64) - 1


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def instance(n):
    items = []
    for i in range(n):
        h = mix64(0x4B00000000000000 + i)
        while True:
            w, v = 10 + h % 91, 10 + (h >> 32) % 91
            if all(v * wj != vj * w for vj, wj in items):
                items.append((v, w))
                break
            h = mix64(h)
    return items, sum(w for _, w in items) // 2


def best(items, capacity):
    table = [0] * (capacity + 1)
    for v, w in items:
        for c in range(capacity, w - 1, -1):
            table[c] = max(table[c], table[c - w] + v)
    return table[capacity]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 26
    items, capacity = instance(n)
    print(n)
    print(capacity)
    for v, w in items:
        print(v, w)
    print(f"knapsack-lace-input: n={n} capacity={capacity} best={best(items, capacity)}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
