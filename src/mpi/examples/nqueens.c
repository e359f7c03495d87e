/* N-queens across MPI ranks with crew-mpi: counts the placements of N
 * queens on an N x N board, none attacking another, and checks the count
 * against the known one.
 *
 *   mpirun -np 2 ./mpi_example_nqueens [N (12)] [--workers W]
 *
 * An item is a board with its first rows filled, as three bit masks (the
 * columns and the two diagonals taken). Processing one tries every free
 * square of the next row; a thief gets the older half of the stack (the
 * boards with the fewest rows: the biggest subtrees). Exit status 0 when
 * the count is right. */
#include <crew_mpi.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct board {
    int32_t row;
    uint32_t cols, left, right; /* squares of the next row under attack */
} board;

typedef struct queens_bag {
    board *items;
    size_t top, cap;
} queens_bag;

static void *bag_create(void *ctx)
{
    (void)ctx;
    return calloc(1, sizeof(queens_bag));
}

static void bag_destroy(void *bag, void *ctx)
{
    (void)ctx;
    queens_bag *b = bag;
    free(b->items);
    free(b);
}

static int push(queens_bag *b, board x)
{
    if (b->top == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        board *more = realloc(b->items, cap * sizeof *more);
        if (more == NULL)
            return ENOMEM;
        b->items = more;
        b->cap = cap;
    }
    b->items[b->top++] = x;
    return 0;
}

static int bag_init(void *bag, int rank, int nranks, void *ctx)
{
    (void)nranks;
    (void)ctx;
    return rank == 0 ? push(bag, (board){0, 0, 0, 0}) : 0;
}

static int bag_process(void *bag, size_t n, void *result, void *ctx)
{
    int size = *(const int *)ctx;
    uint32_t all = (uint32_t)((1ull << size) - 1);
    queens_bag *b = bag;
    uint64_t *solutions = result;
    for (size_t i = 0; i < n && b->top > 0; i++) {
        board x = b->items[--b->top];
        for (uint32_t free_sq = all & ~(x.cols | x.left | x.right); free_sq != 0;
             free_sq &= free_sq - 1) {
            uint32_t q = free_sq & -free_sq;
            if (x.row + 1 == size) {
                (*solutions)++;
                continue;
            }
            board next = {x.row + 1, x.cols | q, ((x.left | q) << 1) & all, (x.right | q) >> 1};
            if (push(b, next) != 0)
                return ENOMEM;
        }
    }
    return 0;
}

static bool bag_empty(const void *bag, void *ctx)
{
    (void)ctx;
    return ((const queens_bag *)bag)->top == 0;
}

static size_t bag_split(void *bag, void *loot, size_t cap, void *ctx)
{
    (void)ctx;
    queens_bag *b = bag;
    size_t give = b->top / 2;
    if (give > cap / sizeof(board))
        give = cap / sizeof(board);
    if (give == 0)
        return 0;
    memcpy(loot, b->items, give * sizeof(board));
    memmove(b->items, b->items + give, (b->top - give) * sizeof(board));
    b->top -= give;
    return give * sizeof(board);
}

static int bag_merge(void *bag, const void *loot, size_t len, void *ctx)
{
    int size = *(const int *)ctx;
    if (len % sizeof(board) != 0)
        return EINVAL;
    for (size_t i = 0; i < len / sizeof(board); i++) {
        board x;
        memcpy(&x, (const unsigned char *)loot + i * sizeof x, sizeof x);
        if (x.row < 0 || x.row >= size)
            return EINVAL;
        if (push(bag, x) != 0)
            return ENOMEM;
    }
    return 0;
}

static void sum(void *acc, const void *other, void *ctx)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

/* The number of solutions for N = 0 .. 16 (OEIS A000170). */
static const uint64_t known[] = {1, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680, 14200, 73712,
                                 365596, 2279184, 14772512};
static const uint64_t zero;

int main(int argc, char **argv)
{
    int rc = crew_mpi_init(&argc, &argv);
    if (rc != 0) {
        fprintf(stderr, "nqueens: MPI does not give MPI_THREAD_FUNNELED (crew-mpi needs it): %s\n",
                strerror(rc));
        return 1;
    }
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    int size = 12;
    unsigned workers = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            workers = (unsigned)atoi(argv[++i]);
        else
            size = atoi(argv[i]);
    }
    if (size < 1 || size > 16 || workers == 0) {
        if (rank == 0)
            fprintf(stderr, "nqueens: N from 1 to 16, at least one worker\n");
        MPI_Finalize();
        return 2;
    }
    crew_config pc;
    crew_config_default(&pc);
    pc.workers = workers;
    crew_pool *pool = crew_pool_create(&pc);
    if (pool == NULL) {
        perror("nqueens: crew_pool_create");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    crew_mpi_bag_ops ops = {
        .create = bag_create,
        .destroy = bag_destroy,
        .init = bag_init,
        .process = bag_process,
        .empty = bag_empty,
        .split = bag_split,
        .merge = bag_merge,
        .result_size = sizeof(uint64_t),
        .identity = &zero,
        .reduce = sum,
        .ctx = &size,
    };
    uint64_t solutions = 0;
    crew_mpi_stats st;
    rc = crew_mpi_run(pool, MPI_COMM_WORLD, &ops, NULL, &solutions, &st);
    int status = 0;
    if (rc != 0) {
        fprintf(stderr, "nqueens: rank %d: crew_mpi_run: %s\n", rank, strerror(rc));
        status = 1;
    } else {
        if (rank == 0)
            printf("nqueens(%d) = %llu; %d ranks x %u workers: %.4f s%s\n", size,
                   (unsigned long long)solutions, nranks, workers, st.seconds,
                   solutions == known[size] ? "" : " WRONG");
        status = solutions == known[size] ? 0 : 1;
    }
    crew_pool_destroy(pool);
    MPI_Finalize();
    return status;
}
