/* SHA-1 (FIPS 180-4), the hash whose output is the random stream of the
 * standard UTS benchmark (uts.h). Written from the standard's description;
 * it is here for UTS's tree generator and its tests, not for security
 * (SHA-1 is broken as a cryptographic hash).
 *
 * Streaming use: uts_sha1_init, any number of uts_sha1_update calls, then
 * uts_sha1_final. uts_sha1 hashes one buffer in one call. */
#ifndef CREW_UTS_SHA1_H
#define CREW_UTS_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define UTS_SHA1_DIGEST_BYTES 20
#define UTS_SHA1_BLOCK_BYTES 64

typedef struct uts_sha1_ctx {
    uint32_t h[5];                          /* the chaining value */
    uint64_t bytes;                         /* message length so far */
    unsigned char block[UTS_SHA1_BLOCK_BYTES]; /* a partial block */
    size_t used;                            /* bytes of block in use */
} uts_sha1_ctx;

void uts_sha1_init(uts_sha1_ctx *c);
void uts_sha1_update(uts_sha1_ctx *c, const void *data, size_t len);
/* Pads, writes the 20-byte digest (big-endian words) and leaves c spent. */
void uts_sha1_final(uts_sha1_ctx *c, unsigned char digest[UTS_SHA1_DIGEST_BYTES]);

void uts_sha1(const void *data, size_t len, unsigned char digest[UTS_SHA1_DIGEST_BYTES]);

#endif
