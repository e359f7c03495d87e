/* The simple case: work that splits evenly. Each rank takes its slice of
 * [0, n), reduces it with crew_parallel_reduce on its own workers, and
 * MPI_Allreduce adds the ranks' sums. No load balancing is needed, so no
 * crew-mpi either: only crew and MPI.
 *
 *   mpirun -np 2 ./mpi_example_hybrid_reduce [n (10000000)] [--workers W]
 *
 * Every rank checks the total against a sequential loop over the whole
 * range. Exit status 0 when they agree. */
#include <crew.h>
#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t f(size_t i)
{
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;
    return (x ^ (x >> 29)) % 1000003u;
}

static void sum_range(size_t begin, size_t end, void *acc, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (size_t i = begin; i < end; i++)
        s += f(i);
    *(uint64_t *)acc += s;
}

static void add(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(uint64_t *)acc += *(const uint64_t *)right;
}

int main(int argc, char **argv)
{
    /* Only this thread calls MPI; crew's workers never do. */
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
        fprintf(stderr, "hybrid_reduce: MPI does not give MPI_THREAD_FUNNELED\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    size_t n = 10000000;
    unsigned workers = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            workers = (unsigned)atoi(argv[++i]);
        else
            n = (size_t)atol(argv[i]);
    }

    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = workers;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL) {
        perror("hybrid_reduce: crew_pool_create");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    size_t begin = n * (size_t)rank / (size_t)nranks;
    size_t end = n * ((size_t)rank + 1) / (size_t)nranks;
    uint64_t zero = 0, mine = 0, total = 0;
    int rc = crew_parallel_reduce(pool, begin, end, 0, sizeof mine, &zero, sum_range, add,
                                  NULL, &mine);
    MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);

    uint64_t expected = 0;
    sum_range(0, n, &expected, NULL);
    if (rank == 0)
        printf("hybrid_reduce: sum of f over [0, %zu) = %llu on %d ranks%s\n", n,
               (unsigned long long)total, nranks, total == expected ? "" : " WRONG");
    crew_pool_destroy(pool);
    MPI_Finalize();
    return rc == 0 && total == expected ? 0 : 1;
}
