/*
 * A watchdog for the faults and fuzz suites: a hang (a lost wake-up, a
 * deadlock) fails the case with a message naming what it was doing,
 * instead of blocking CI until the runner's timeout. alarm() delivers
 * SIGALRM after `seconds`; the handler writes the message with write(2)
 * only (async-signal-safe), calls an optional reporter (which must be
 * async-signal-safe as well), and aborts.
 *
 * One case at a time per process (Criterion forks one process per case;
 * the plain driver runs cases one after the other), so one global alarm.
 */
#ifndef CREW_TEST_WATCHDOG_H
#define CREW_TEST_WATCHDOG_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *test_watchdog_what_ = "";
static unsigned test_watchdog_seconds_;
static void (*test_watchdog_report_)(void);

static inline void test_watchdog_write_(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Decimal digits of v into buf (at least 24 bytes); returns buf. */
static inline char *test_watchdog_utoa(unsigned long long v, char *buf)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

static inline void test_watchdog_fire_(int sig)
{
    (void)sig;
    char num[24];
    test_watchdog_write_("\nwatchdog: ");
    test_watchdog_write_(test_watchdog_what_);
    test_watchdog_write_(" did not finish within ");
    test_watchdog_write_(test_watchdog_utoa(test_watchdog_seconds_, num));
    test_watchdog_write_(" s: a hang (lost wake-up or deadlock)\n");
    if (test_watchdog_report_ != NULL)
        test_watchdog_report_();
    abort();
}

/* Arms the watchdog: `what` (a static string) is named in the message. */
static inline void test_watchdog_arm(const char *what, unsigned seconds,
                                     void (*report)(void))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = test_watchdog_fire_;
    sigemptyset(&sa.sa_mask);
    test_watchdog_what_ = what;
    test_watchdog_seconds_ = seconds;
    test_watchdog_report_ = report;
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds);
}

static inline void test_watchdog_disarm(void)
{
    alarm(0);
    test_watchdog_report_ = NULL;
}

#endif
