/* Checks that the code the documentation quotes from the examples is
 * really in them, so a quote cannot drift from the file the suite runs.
 *
 *   check_quotes EXAMPLES_DIR [--every] PAGE.md... [--some] PAGE.md...
 *
 * A fenced block (```c) is a quote when the paragraph just before it names
 * a file "examples/NAME.c" or says "same file" (the file named last), or
 * when only blank lines separate it from the previous quote (same file).
 * Its lines, split into pieces at lines that read only "/" "* ... *" "/"
 * (an elision), must appear in that file: each piece as consecutive lines,
 * the pieces in order. On the pages after --every, every ```c block must
 * be a quote; after --some (the default), other blocks are not checked.
 * Exit status 0 when every quote matches and there is at least one; 1
 * otherwise. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_LINES = 20000, MAX_LINE = 512 };

typedef struct text {
    char *line[MAX_LINES];
    size_t n;
} text;

static int load(const char *path, text *t)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char buf[MAX_LINE];
    t->n = 0;
    while (fgets(buf, sizeof buf, f) != NULL && t->n < MAX_LINES) {
        buf[strcspn(buf, "\n")] = '\0';
        t->line[t->n] = malloc(strlen(buf) + 1);
        if (t->line[t->n] == NULL) {
            fclose(f);
            return -1;
        }
        strcpy(t->line[t->n++], buf);
    }
    fclose(f);
    return 0;
}

static void unload(text *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->line[i]);
    t->n = 0;
}

static int is_elision(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return strcmp(s, "/* ... */") == 0;
}

/* The last "examples/NAME.c" named on the line, copied to name. */
static int quoted_file(const char *line, char *name, size_t size)
{
    int found = 0;
    for (const char *p = strstr(line, "examples/"); p != NULL; p = strstr(p + 1, "examples/")) {
        const char *b = p + strlen("examples/"), *e = b;
        while (isalnum((unsigned char)*e) || *e == '_')
            e++;
        if (e > b && strncmp(e, ".c", 2) == 0 && !isalnum((unsigned char)e[2]) &&
            (size_t)(e + 2 - b) < size) {
            memcpy(name, b, (size_t)(e + 2 - b));
            name[e + 2 - b] = '\0';
            found = 1;
        }
    }
    return found;
}

/* Finds lines q[0..n) consecutively in src at or after *from. */
static int find_piece(const text *src, size_t *from, char *const *q, size_t n)
{
    for (size_t i = *from; i + n <= src->n; i++) {
        size_t k = 0;
        while (k < n && strcmp(src->line[i + k], q[k]) == 0)
            k++;
        if (k == n) {
            *from = i + n;
            return 1;
        }
    }
    return 0;
}

static int check_block(const char *dir, const char *page, size_t at, const char *name,
                       char *const *q, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    static text src;
    if (load(path, &src) != 0)
        return 0;
    size_t from = 0, begin = 0;
    int ok = 1;
    while (ok && begin < n) {
        size_t end = begin;
        while (end < n && !is_elision(q[end]))
            end++;
        if (end > begin && !find_piece(&src, &from, q + begin, end - begin)) {
            fprintf(stderr, "%s:%zu: quote of %s does not match it from:\n    %s\n", page,
                    at + begin + 1, name, q[begin]);
            ok = 0;
        }
        begin = end + 1;
    }
    unload(&src);
    return ok;
}

/* Whether s contains "same file", in any case. */
static int says_same_file(const char *s)
{
    static const char key[] = "same file";
    for (; *s != '\0'; s++) {
        size_t k = 0;
        while (key[k] != '\0' && tolower((unsigned char)s[k]) == key[k])
            k++;
        if (key[k] == '\0')
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: check_quotes EXAMPLES_DIR PAGE.md...\n");
        return 1;
    }
    int quotes = 0, bad = 0, every = 0;
    static text page;
    for (int a = 2; a < argc; a++) {
        if (strcmp(argv[a], "--every") == 0 || strcmp(argv[a], "--some") == 0) {
            every = strcmp(argv[a], "--every") == 0;
            continue;
        }
        if (load(argv[a], &page) != 0)
            return 1;
        char current[256] = ""; /* the file named last */
        int named = 0;          /* the paragraph before names it, or "same file" */
        int chained = 0;        /* only blank lines since a quote */
        int blank = 1;          /* the previous line was blank */
        for (size_t i = 0; i < page.n; i++) {
            const char *l = page.line[i];
            if (strncmp(l, "```", 3) == 0) {
                size_t end = i + 1;
                while (end < page.n && strncmp(page.line[end], "```", 3) != 0)
                    end++;
                int quote = strcmp(l, "```c") == 0 && (named || chained) && current[0];
                if (quote) {
                    quotes++;
                    if (check_block(argv[1], argv[a], i + 1, current, page.line + i + 1,
                                    end - i - 1))
                        printf("%s:%zu: quote of %s matches\n", argv[a], i + 1, current);
                    else
                        bad++;
                } else if (every && strcmp(l, "```c") == 0) {
                    fprintf(stderr, "%s:%zu: a C block that names no example file\n", argv[a],
                            i + 1);
                    bad++;
                }
                chained = quote;
                named = 0;
                blank = 1;
                i = end;
                continue;
            }
            if (l[0] == '\0') {
                blank = 1;
                continue;
            }
            if (blank)
                named = 0; /* a new paragraph */
            blank = 0;
            chained = 0;
            char name[256];
            if (l[0] == '#')
                named = 0;
            else if (quoted_file(l, name, sizeof name)) {
                strcpy(current, name);
                named = 1;
            } else if (says_same_file(l)) {
                named = 1;
            }
        }
        unload(&page);
    }
    printf("%d quotes checked, %d wrong\n", quotes, bad);
    return quotes > 0 && bad == 0 ? 0 : 1;
}
