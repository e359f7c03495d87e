/* A program outside the tree, built with `cc consumer.c $(pkg-config
 * --cflags --libs crew-mpi)`: a bag of countdown items (item k makes k - 1
 * and counts itself), run across the ranks. Exit status 0 when the count
 * is right on this rank. */
#include <crew_mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bag {
    unsigned items[4096];
    size_t n;
} bag;

static void *make(void *ctx)
{
    (void)ctx;
    return calloc(1, sizeof(bag));
}

static void drop(void *b, void *ctx)
{
    (void)ctx;
    free(b);
}

static int start(void *b, int rank, int nranks, void *ctx)
{
    (void)nranks;
    (void)ctx;
    bag *x = b;
    if (rank == 0)
        for (unsigned k = 0; k < 64; k++)
            x->items[x->n++] = 64;
    return 0;
}

static int work(void *b, size_t n, void *result, void *ctx)
{
    (void)ctx;
    bag *x = b;
    for (size_t i = 0; i < n && x->n > 0; i++) {
        unsigned k = x->items[--x->n];
        *(unsigned long *)result += 1;
        if (k > 1)
            x->items[x->n++] = k - 1;
    }
    return 0;
}

static bool none(const void *b, void *ctx)
{
    (void)ctx;
    return ((const bag *)b)->n == 0;
}

static size_t give(void *b, void *loot, size_t cap, void *ctx)
{
    (void)ctx;
    bag *x = b;
    size_t k = x->n / 2;
    if (k * sizeof(unsigned) > cap)
        k = cap / sizeof(unsigned);
    x->n -= k;
    memcpy(loot, x->items + x->n, k * sizeof(unsigned));
    return k * sizeof(unsigned);
}

static int take(void *b, const void *loot, size_t len, void *ctx)
{
    (void)ctx;
    bag *x = b;
    size_t k = len / sizeof(unsigned);
    if (len % sizeof(unsigned) != 0 || x->n + k > 4096)
        return 22;
    memcpy(x->items + x->n, loot, len);
    x->n += k;
    return 0;
}

static void add(void *acc, const void *other, void *ctx)
{
    (void)ctx;
    *(unsigned long *)acc += *(const unsigned long *)other;
}

int main(int argc, char **argv)
{
    if (crew_mpi_init(&argc, &argv) != 0)
        return 1;
    crew_pool *pool = crew_pool_create(NULL);
    static const unsigned long zero;
    crew_mpi_bag_ops ops = {make, drop, start, work, none, give, take,
                            sizeof(unsigned long), &zero, add, NULL};
    unsigned long count = 0;
    int rc = crew_mpi_run(pool, MPI_COMM_WORLD, &ops, NULL, &count, NULL);
    printf("consumer: %d, %lu items (expected %d)\n", rc, count, 64 * 64);
    crew_pool_destroy(pool);
    MPI_Finalize();
    return rc == 0 && count == 64 * 64 ? 0 : 1;
}
