/* Suite `mpi`: crew-mpi under mpirun on this machine's loopback. Every
 * case starts mpirun (in a process group of its own, killed at a
 * deadline, so no case can hang the suite) on 1, 2 and 4 ranks (4
 * oversubscribed on two cores), with 1 and 2 crew workers per rank, and
 * checks the exit status: the programs check their own answers (node and
 * queen counts equal to the sequential ones, errors equal on every rank).
 * The paths of mpirun and of the programs come from meson (MPIRUN,
 * GLB_CHECK, EXAMPLE_*), and so does the build's sanitizer (SANITIZE):
 * under AddressSanitizer and ThreadSanitizer the ranks get suppression
 * files for Open MPI's own reports (lsan.supp, tsan.supp say why). */
#include "mpi_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_ARGS = 48, OUTPUT_BYTES = 1 << 16 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct launch {
    int status;             /* exit status, or 128 + signal, or -1 */
    bool timed_out;
    double seconds;
    char out[OUTPUT_BYTES]; /* stdout and stderr, as much as fits */
    size_t len;
} launch;

/* Appends `more` to the environment variable `name`, separated by sep. */
static void env_append(const char *name, const char *sep, const char *more)
{
    const char *old = getenv(name);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s%s", old ? old : "", old && *old ? sep : "", more);
    setenv(name, buf, 1);
}

/* In the child, before exec: what the sanitized ranks need. Open MPI's
 * MCA components stay loaded (unloaded, their frames lose their names and
 * the suppressions no longer match them). LeakSanitizer needs full stacks
 * to tell Open MPI's leaks from ours, which makes every malloc slow (5 s
 * more per launch): one launch checks leaks (leak_check), the others run
 * with every other AddressSanitizer check but that one. */
static void sanitizer_environment(bool leak_check)
{
    if (strstr(SANITIZE, "address") != NULL) {
        setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);
        if (leak_check) {
            env_append("ASAN_OPTIONS", ":", "fast_unwind_on_malloc=0");
            env_append("LSAN_OPTIONS", ":",
                       "suppressions=" MPI_TEST_DIR "/lsan.supp:print_suppressions=0");
        } else {
            env_append("ASAN_OPTIONS", ":", "detect_leaks=0");
        }
    }
    if (strstr(SANITIZE, "thread") != NULL) {
        setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);
        env_append("TSAN_OPTIONS", " ", "suppressions=" MPI_TEST_DIR "/tsan.supp");
    }
}

/* Runs mpirun -np NP PROG ARGS..., at most limit seconds. */
static void run_mpi_checked(launch *l, int np, double limit, bool leak_check, const char *prog,
                            const char *const *args)
{
    char nps[16];
    snprintf(nps, sizeof nps, "%d", np);
    const char *argv[MAX_ARGS];
    int a = 0;
    argv[a++] = MPIRUN;
    if (geteuid() == 0)
        argv[a++] = "--allow-run-as-root"; /* CI runs as root */
    /* More ranks than cores; no binding, or a rank's workers would share
     * the one core mpirun binds the rank to. */
    argv[a++] = "--oversubscribe";
    argv[a++] = "--bind-to";
    argv[a++] = "none";
    argv[a++] = "-np";
    argv[a++] = nps;
    argv[a++] = prog;
    for (int i = 0; args[i] != NULL && a < MAX_ARGS - 1; i++)
        argv[a++] = args[i];
    argv[a] = NULL;

    memset(l, 0, sizeof *l);
    l->status = -1;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return;
    }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        sanitizer_environment(leak_check);
        execv(MPIRUN, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    bool open = true;
    int wstatus = 0;
    bool reaped = false;
    while (!reaped) {
        double left = limit - (now_s() - t0);
        if (left <= 0) {
            l->timed_out = true;
            kill(-pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            reaped = true;
            break;
        }
        if (open) {
            struct pollfd p = {pipefd[0], POLLIN, 0};
            poll(&p, 1, left < 0.1 ? (int)(left * 1000) + 1 : 100);
            ssize_t n;
            char sink[4096];
            while ((n = read(pipefd[0], l->len < OUTPUT_BYTES - 1 ? l->out + l->len : sink,
                             l->len < OUTPUT_BYTES - 1 ? OUTPUT_BYTES - 1 - l->len
                                                       : sizeof sink)) > 0)
                if (l->len < OUTPUT_BYTES - 1)
                    l->len += (size_t)n;
            if (n == 0)
                open = false;
        } else {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (waitpid(pid, &wstatus, WNOHANG) == pid)
            reaped = true;
    }
    /* Whatever the ranks wrote after mpirun exited. */
    ssize_t n;
    while (l->len < OUTPUT_BYTES - 1 &&
           (n = read(pipefd[0], l->out + l->len, OUTPUT_BYTES - 1 - l->len)) > 0)
        l->len += (size_t)n;
    close(pipefd[0]);
    kill(-pid, SIGKILL); /* strays of the group, if any */
    l->out[l->len] = '\0';
    l->seconds = now_s() - t0;
    if (WIFEXITED(wstatus))
        l->status = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus))
        l->status = 128 + WTERMSIG(wstatus);
}

static void run_mpi(launch *l, int np, double limit, const char *prog, const char *const *args)
{
    run_mpi_checked(l, np, limit, false, prog, args);
}

/* The launch ended on its own with status `want`; else its output is
 * printed. */
static int ended_with(const launch *l, int want, const char *what)
{
    if (!l->timed_out && l->status == want)
        return 0;
    fprintf(stderr, "%s: %s, status %d (expected %d) after %.1f s; its output:\n%s\n", what,
            l->timed_out ? "TIMED OUT" : "ended", l->status, want, l->seconds, l->out);
    return 1;
}

static size_t occurrences(const char *text, const char *s)
{
    size_t n = 0;
    for (const char *p = strstr(text, s); p != NULL; p = strstr(p + 1, s))
        n++;
    return n;
}

/* Sanitizer builds (test_scale below 100) start an MPI program 5 to 20
 * times slower: they run 2 workers per rank only (the more threads, the
 * more interleavings), the small tree and 9 queens. */
static int first_workers(void)
{
    return CREW_TEST_SCALE >= 100 ? 1 : 2;
}

/* Every run checks its own count against the published one (the uts
 * example) or the known one (nqueens) and says WRONG otherwise. */
static int counts_are_sequential(int np)
{
    bool full = CREW_TEST_SCALE >= 100;
    for (int w = first_workers(); w <= 2; w++) {
        char ws[8], what[96];
        snprintf(ws, sizeof ws, "%d", w);
        launch l;
        const char *trees[] = {"--workers", ws, "--tree", "small", "--tree", "T1", "--tree", "T3",
                               NULL};
        if (!full)
            trees[4] = NULL;
        run_mpi(&l, np, 60, EXAMPLE_UTS, trees);
        snprintf(what, sizeof what, "uts on %d ranks x %d workers", np, w);
        if (ended_with(&l, 0, what) != 0)
            return 1;
        CHECKF(occurrences(l.out, " nodes, ") == (full ? 3u : 1u) &&
                   occurrences(l.out, "WRONG") == 0,
               "%s", l.out);
        const char *queens[] = {full ? "12" : "9", "--workers", ws, NULL};
        run_mpi(&l, np, 60, EXAMPLE_NQUEENS, queens);
        snprintf(what, sizeof what, "nqueens on %d ranks x %d workers", np, w);
        if (ended_with(&l, 0, what) != 0)
            return 1;
        CHECKF(occurrences(l.out, "nqueens(") == 1 && occurrences(l.out, "WRONG") == 0, "%s",
               l.out);
    }
    return 0;
}

int uts_and_nqueens_counts_equal_the_sequential_ones_on_1_rank(void)
{
    return counts_are_sequential(1);
}

int uts_and_nqueens_counts_equal_the_sequential_ones_on_2_ranks(void)
{
    return counts_are_sequential(2);
}

int uts_and_nqueens_counts_equal_the_sequential_ones_on_4_ranks(void)
{
    return counts_are_sequential(4);
}

/* glb_check's scenarios (see glb_check.c): failures in turn, each
 * followed by a run that must still give the sequential answer. */
static int scenarios_hold(int np)
{
    const char *n = CREW_TEST_SCALE < 100 ? "1000000" : "20000000";
    for (int w = first_workers(); w <= 2; w++) {
        char ws[8], what[96], line[64];
        snprintf(ws, sizeof ws, "%d", w);
        const char *args[] = {"--workers", ws, "--n", n, "count", "bigloot", "empty",
                              "process_fails", "count", "remote_fails", "merge_fails",
                              "split_overflows", "init_fails", "count", "timeout", "bad_args",
                              "mismatch", "wrong_thread", "from_worker", "count", NULL};
        launch l;
        /* The leak check (asan builds): every scenario, two ranks of two
         * workers, once. */
        run_mpi_checked(&l, np, 60, np == 2 && w == 2, GLB_CHECK, args);
        snprintf(what, sizeof what, "glb_check on %d ranks x %d workers", np, w);
        if (ended_with(&l, 0, what) != 0)
            return 1;
        snprintf(line, sizeof line, "%d workers: 16 of 16 scenarios right", w);
        CHECKF(occurrences(l.out, line) == (size_t)np, "%s", l.out);
    }
    return 0;
}

int a_failing_rank_makes_every_rank_return_its_error_on_1_rank(void)
{
    return scenarios_hold(1);
}

int a_failing_rank_makes_every_rank_return_its_error_on_2_ranks(void)
{
    return scenarios_hold(2);
}

int a_failing_rank_makes_every_rank_return_its_error_on_4_ranks(void)
{
    return scenarios_hold(4);
}

int a_thread_level_below_funneled_fails_enotsup_on_every_rank(void)
{
    launch l;
    const char *args[] = {"--level", "single", "level", NULL};
    run_mpi(&l, 2, 30, GLB_CHECK, args);
    if (ended_with(&l, 0, "glb_check level") != 0)
        return 1;
    CHECKF(occurrences(l.out, "1 of 1 scenarios right") == 2, "%s", l.out);
    return 0;
}

int a_rank_stuck_in_its_work_is_aborted_within_the_bound(void)
{
    /* Rank 0's process call sleeps a minute; timeout_ms 200 and abort_ms
     * 300: MPI_Abort (the last resort) ends the job, with the errno
     * ETIMEDOUT as its exit status, well before the minute. */
    launch l;
    const char *args[] = {"stuck", NULL};
    run_mpi(&l, 2, 30, GLB_CHECK, args);
    /* Both ranks reach the bound and call MPI_Abort. Open MPI's mpirun
     * then crashes itself now and then (in CI's ASan runs: SIGSEGV in its
     * pmix_server_log_fn while relaying the second abort, before or after
     * it prints its banner), so its status is 139, not the errno. The
     * abort still happened (the ranks' own "calling MPI_Abort" lines are
     * checked below, and no rank returned), so that status is accepted
     * when mpirun's own crash report is in the output. */
    bool aborted = l.status == ETIMEDOUT ||
                   (l.status == 128 + SIGSEGV && strstr(l.out, "Process received signal") != NULL);
    CHECKF(!l.timed_out && aborted, "status %d after %.1f s: %s", l.status, l.seconds, l.out);
    CHECKF(strstr(l.out, "calling MPI_Abort") != NULL, "%s", l.out);
    CHECKF(strstr(l.out, "returned") == NULL, "%s", l.out);
    return 0;
}

int hybrid_static_split_example_sums_right_on_1_2_4_ranks(void)
{
    /* Sanitizer builds: 2 and 4 ranks (see first_workers). */
    for (int np = CREW_TEST_SCALE >= 100 ? 1 : 2; np <= 4; np *= 2) {
        launch l;
        const char *args[] = {CREW_TEST_SCALE >= 100 ? "10000000" : "1000000", "--workers", "2",
                              NULL};
        run_mpi(&l, np, 30, EXAMPLE_HYBRID, args);
        if (ended_with(&l, 0, "hybrid_reduce") != 0)
            return 1;
        CHECKF(strstr(l.out, "sum of f") != NULL && strstr(l.out, "WRONG") == NULL, "%s",
               l.out);
    }
    return 0;
}
