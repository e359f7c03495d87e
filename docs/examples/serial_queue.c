/* docs/guide.md, part 1: serial queues. A serial queue guards shared
 * state without a lock: every change to the state is a task of the one
 * queue, so the changes run one at a time, in order, each seeing the last
 * one's writes. Here eight tasks of the pool make transfers between
 * accounts of one ledger; an outside thread reads the ledger meanwhile
 * through the same queue and always finds the money all there. */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>

enum { ACCOUNTS = 8, CLERKS = 8, PER_CLERK = 1000, START = 1000 };

/* The shared state: only tasks of `ledger_queue` touch it. */
static struct {
    long balance[ACCOUNTS];
    long transfers;
} ledger;
static crew_serial *ledger_queue;

typedef struct transfer {
    int from, to;
    long amount;
} transfer;

static void *apply_transfer(void *arg)  /* a task of ledger_queue */
{
    const transfer *t = arg;
    ledger.balance[t->from] -= t->amount;
    ledger.balance[t->to] += t->amount;
    ledger.transfers++;
    return NULL;
}

static void *count_money(void *arg)     /* a task of ledger_queue too */
{
    (void)arg;
    long total = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        total += ledger.balance[i];
    return (void *)(intptr_t)total;
}

static transfer work[CLERKS][PER_CLERK];

static void *clerk(void *arg)           /* a task of the pool */
{
    transfer *mine = arg;
    for (int i = 0; i < PER_CLERK; i++)
        if (crew_serial_post(ledger_queue, apply_transfer, &mine[i]) != 0)
            return (void *)1;
    return NULL;
}

int main(void)
{
    crew_pool *pool = crew_pool_create(NULL);
    if (pool == NULL || (ledger_queue = crew_serial_create(pool)) == NULL)
        return 1;
    for (int i = 0; i < ACCOUNTS; i++)
        ledger.balance[i] = START;
    for (int c = 0; c < CLERKS; c++)
        for (int i = 0; i < PER_CLERK; i++)
            work[c][i] = (transfer){(c + i) % ACCOUNTS, (c + 3 * i + 1) % ACCOUNTS, i % 50};

    crew_future *clerks[CLERKS];
    for (int c = 0; c < CLERKS; c++)
        if ((clerks[c] = crew_submit(pool, clerk, work[c])) == NULL)
            return 1;

    int wrong = 0;
    for (int look = 0; look < 20; look++) {        /* while the clerks work */
        crew_future *f = crew_serial_submit(ledger_queue, count_money, NULL);
        void *total;
        if (f == NULL || crew_future_wait(f, &total) != 0)
            return 1;
        wrong += (intptr_t)total != ACCOUNTS * START;
        crew_future_release(f);
    }

    for (int c = 0; c < CLERKS; c++) {
        void *failed;
        if (crew_future_wait(clerks[c], &failed) != 0 || failed != NULL)
            return 1;
        crew_future_release(clerks[c]);
    }
    crew_serial_wait(ledger_queue);   /* every transfer posted so far has run */
    long total = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        total += ledger.balance[i];
    printf("%ld transfers, total %ld, %d wrong looks\n", ledger.transfers, total, wrong);

    crew_serial_destroy(ledger_queue);
    crew_pool_destroy(pool);
    return ledger.transfers == CLERKS * PER_CLERK && total == ACCOUNTS * START && !wrong ? 0 : 1;
}
