/* docs/guide: typed fork-join tasks (CREW_TASK, CREW_SPAWN, CREW_SYNC,
 * CREW_SPAWN_TO, CREW_SYNC_FROM, CREW_RUN): fib (without and with a handle), and an N-queens count whose nodes spawn as many children
 * as the board allows. */
#include <crew.h>
#include <stdio.h>

CREW_TASK(long, fib, (long, n))
{
    if (n < 2)
        return n;
    CREW_SPAWN(fib, n - 1);        /* fib(n - 1): idle workers may take it */
    long b = CREW_CALL(fib, n - 2); /* a call, here and now */
    return CREW_SYNC(fib) + b;     /* the newest spawn's result */
}

/* The same with a handle: for a few spawns known in advance, the fastest
 * form (the handle keeps the arguments, so a sync that takes its task
 * back runs it without reading the slot again). */
CREW_TASK(long, fib_h, (long, n))
{
    if (n < 2)
        return n;
    crew_task t;
    CREW_SPAWN_TO(&t, fib_h, n - 1);
    long b = CREW_CALL(fib_h, n - 2);
    return CREW_SYNC_FROM(&t, fib_h) + b;
}

/* Queens placed in rows [0, row); cols, diag1 and diag2 mark the attacked
 * columns and diagonals. */
CREW_TASK(long, queens, (int, n), (int, row), (unsigned, cols), (unsigned, diag1),
          (unsigned, diag2))
{
    if (row == n)
        return 1;
    int kids = 0;
    for (int c = 0; c < n; c++) {
        unsigned bit = 1u << c;
        if ((cols & bit) || (diag1 & (1u << (row + c))) || (diag2 & (1u << (row - c + n))))
            continue;
        CREW_SPAWN(queens, n, row + 1, cols | bit, diag1 | (1u << (row + c)),
                   diag2 | (1u << (row - c + n)));
        kids++;                    /* as many children as the board allows */
    }
    long solutions = 0;
    while (kids-- > 0)
        solutions += CREW_SYNC(queens); /* newest first; no storage of ours */
    return solutions;
}

int main(void)
{
    crew_pool *pool = crew_pool_create(NULL);
    if (pool == NULL)
        return 1;
    long f = 0, fh = 0, q = 0;
    if (CREW_RUN(pool, fib, &f, 30) != 0 || CREW_RUN(pool, fib_h, &fh, 30) != 0 ||
        CREW_RUN(pool, queens, &q, 10, 0, 0u, 0u, 0u) != 0)
        return 1;
    long serial = fib(20);         /* outside a pool: an ordinary call */
    printf("fib(30) = %ld, 10 queens: %ld solutions, fib(20) = %ld\n", f, q, serial);
    crew_pool_destroy(pool);
    return f == 832040 && fh == f && q == 724 && serial == 6765 ? 0 : 1;
}
