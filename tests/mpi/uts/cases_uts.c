/* Suite `uts`: SHA-1 against FIPS 180's examples, the UTS node states
 * against their definition, and the standard trees against their
 * published sizes (UTS's sample_trees.sh), counted sequentially. */
#include "uts_cases.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uts.h>

static int digest_is(const unsigned char *d, const char *hex)
{
    char got[2 * UTS_SHA1_DIGEST_BYTES + 1];
    for (int i = 0; i < UTS_SHA1_DIGEST_BYTES; i++)
        snprintf(got + 2 * i, 3, "%02x", d[i]);
    if (strcmp(got, hex) != 0) {
        fprintf(stderr, "digest %s, expected %s\n", got, hex);
        return 0;
    }
    return 1;
}

int sha1_gives_the_fips_180_example_digests(void)
{
    unsigned char d[UTS_SHA1_DIGEST_BYTES];
    uts_sha1("abc", 3, d);
    CHECK(digest_is(d, "a9993e364706816aba3e25717850c26c9cd0d89d"));
    uts_sha1("", 0, d);
    CHECK(digest_is(d, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    uts_sha1(two, strlen(two), d);
    CHECK(digest_is(d, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
    /* One million 'a', fed in uneven pieces. */
    char piece[997];
    memset(piece, 'a', sizeof piece);
    uts_sha1_ctx c;
    uts_sha1_init(&c);
    size_t left = 1000000;
    for (size_t step = 1; left > 0; step = (step + 13) % sizeof piece + 1) {
        size_t n = step < left ? step : left;
        uts_sha1_update(&c, piece, n);
        left -= n;
    }
    uts_sha1_final(&c, d);
    CHECK(digest_is(d, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
    return 0;
}

int sha1_streaming_equals_one_call_for_every_split_of_a_message(void)
{
    unsigned char msg[200];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof msg; len++) {
        unsigned char one[UTS_SHA1_DIGEST_BYTES];
        uts_sha1(msg, len, one);
        for (size_t cut = 0; cut <= len; cut += len / 5 + 1) {
            unsigned char two[UTS_SHA1_DIGEST_BYTES];
            uts_sha1_ctx c;
            uts_sha1_init(&c);
            uts_sha1_update(&c, msg, cut);
            uts_sha1_update(&c, msg + cut, len - cut);
            uts_sha1_final(&c, two);
            CHECKF(memcmp(one, two, sizeof one) == 0, "length %zu cut at %zu", len, cut);
        }
    }
    return 0;
}

int uts_root_and_child_states_are_the_sha1_of_the_definition(void)
{
    const uts_params *p = &uts_t1.params;
    uts_node root, child;
    uts_root(p, &root);
    unsigned char msg[24] = {0}, want[UTS_SHA1_DIGEST_BYTES];
    msg[19] = 19; /* 16 zero bytes, then the seed 19, big-endian */
    uts_sha1(msg, 20, want);
    CHECK(memcmp(root.state, want, sizeof want) == 0);
    CHECK(root.depth == 0);
    int k = uts_num_children(p, &root);
    CHECK(k >= 1 && k <= UTS_MAX_CHILDREN);
    for (int i = 0; i < k; i++) {
        uts_child(p, &root, i, &child);
        memcpy(msg, root.state, 20);
        msg[20] = 0, msg[21] = 0, msg[22] = (unsigned char)(i >> 8), msg[23] = (unsigned char)i;
        uts_sha1(msg, 24, want);
        CHECK(memcmp(child.state, want, sizeof want) == 0);
        CHECK(child.depth == 1);
    }
    /* A binomial root has floor(b0) children, whatever its draw. */
    uts_root(&uts_t3.params, &root);
    CHECK(uts_num_children(&uts_t3.params, &root) == 2000);
    return 0;
}

int uts_granularity_repeats_the_hash_and_keeps_the_tree(void)
{
    uts_params p = uts_small.params;
    p.granularity = 3;
    uts_count c = uts_walk(&p);
    CHECK(c.nodes == uts_small.size.nodes && c.leaves == uts_small.size.leaves);
    return 0;
}

static int walk_is_published(const uts_preset *t)
{
    uts_count c = uts_walk(&t->params);
    CHECKF(c.nodes == t->size.nodes, "%s: %llu nodes, published %llu", t->name,
           (unsigned long long)c.nodes, (unsigned long long)t->size.nodes);
    CHECKF(c.leaves == t->size.leaves, "%s: %llu leaves, published %llu", t->name,
           (unsigned long long)c.leaves, (unsigned long long)t->size.leaves);
    CHECKF(t->size.max_depth < 0 || c.max_depth == t->size.max_depth,
           "%s: depth %d, published %d", t->name, c.max_depth, t->size.max_depth);
    return 0;
}

int uts_small_tree_has_the_published_1732_nodes_and_1050_leaves(void)
{
    CHECK(uts_preset_find("small") == &uts_small);
    return walk_is_published(&uts_small);
}

/* The four big trees take under a second each with -O2 and 5 to 20 times
 * longer under the sanitizers (test_scale below 100), where only the small
 * tree is walked: the plain builds check the big ones. */
int uts_t1_has_the_published_4130071_nodes(void)
{
    CHECK(uts_t1.size.nodes == 4130071 && uts_preset_find("T1") == &uts_t1);
    return CREW_TEST_SCALE < 100 ? 0 : walk_is_published(&uts_t1);
}

int uts_t3_has_the_published_4112897_nodes(void)
{
    CHECK(uts_t3.size.nodes == 4112897 && uts_preset_find("T3") == &uts_t3);
    return CREW_TEST_SCALE < 100 ? 0 : walk_is_published(&uts_t3);
}

int uts_t2_and_t5_have_their_published_sizes(void)
{
    /* Two more shapes (cyclic, linear) of the same size. */
    if (CREW_TEST_SCALE < 100)
        return 0;
    if (walk_is_published(&uts_t2) != 0)
        return 1;
    return walk_is_published(&uts_t5);
}

int uts_params_check_rejects_out_of_range_parameters(void)
{
    CHECK(uts_params_check(&uts_t1.params) == 0);
    CHECK(uts_params_check(&uts_t3.params) == 0);
    CHECK(uts_params_check(NULL) == EINVAL);
    uts_params p = uts_t1.params;
    p.granularity = 0;
    CHECK(uts_params_check(&p) == EINVAL);
    p = uts_t1.params;
    p.gen_mx = 0;
    CHECK(uts_params_check(&p) == EINVAL);
    p.shape = (uts_shape)7;
    p.gen_mx = 10;
    CHECK(uts_params_check(&p) == EINVAL);
    p = uts_t3.params;
    p.q = 1.5;
    CHECK(uts_params_check(&p) == EINVAL);
    p = uts_t3.params;
    p.m = UTS_MAX_CHILDREN + 1;
    CHECK(uts_params_check(&p) == EINVAL);
    p.type = (uts_type)9;
    CHECK(uts_params_check(&p) == EINVAL);
    CHECK(uts_preset_find("T9") == NULL && uts_preset_find(NULL) == NULL);
    return 0;
}
