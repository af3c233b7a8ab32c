/* SipHash-2-4 against the 64 reference vectors of the SipHash paper's code
 * (tests/unit/data/siphash24-vectors.txt), plus key and length sensitivity. */
#include "base/siphash.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

/* The vector file lives beside this source; find it from __FILE__ so the
 * test runs from the repo root or from anywhere the source path is valid. */
static FILE *open_vectors(void)
{
    static const char rel[] = "data/siphash24-vectors.txt";
    char path[1024];
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    size_t dir = slash ? (size_t)(slash - src + 1) : 0;
    if (dir + sizeof rel <= sizeof path) {
        memcpy(path, src, dir);
        memcpy(path + dir, rel, sizeof rel);
        FILE *f = fopen(path, "r");
        if (f)
            return f;
    }
    return fopen("tests/unit/data/siphash24-vectors.txt", "r");
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void test_vectors(void)
{
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;

    FILE *f = open_vectors();
    CHECK(f != NULL);
    if (!f)
        return;
    char line[256];
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        int idx;
        char hex[32];
        if (line[0] == '#' || sscanf(line, "%d %31s", &idx, hex) != 2)
            continue;
        CHECK(idx >= 0 && idx < 64 && strlen(hex) == 16);
        if (idx < 0 || idx >= 64 || strlen(hex) != 16)
            continue;
        /* The file stores the 64-bit result little-endian. */
        uint64_t want = 0;
        for (int b = 7; b >= 0; b--)
            want = (want << 8) | (uint64_t)(hexval(hex[2 * b]) << 4 |
                                            hexval(hex[2 * b + 1]));
        CHECK_EQ(siphash24(key, msg, (size_t)idx), want);
        CHECK_EQ(idx, seen);
        seen++;
    }
    fclose(f);
    CHECK_EQ(seen, 64);
}

static void test_known_first(void)
{
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    /* The header of the vector file: line 0 as a uint64. */
    CHECK(siphash24(key, "", 0) == 0x726fdb47dd0e0e31ULL);
}

static void test_sensitivity(void)
{
    uint8_t k1[16] = {0}, k2[16] = {0};
    k2[15] = 1;
    const char m[] = "198.18.0.1:80 198.18.0.2:40000";
    CHECK(siphash24(k1, m, sizeof m - 1) != siphash24(k2, m, sizeof m - 1));
    CHECK(siphash24(k1, m, sizeof m - 1) != siphash24(k1, m, sizeof m - 2));
    /* Unaligned input gives the same hash as aligned input. */
    uint8_t buf[80];
    memcpy(buf + 1, m, sizeof m - 1);
    CHECK(siphash24(k1, buf + 1, sizeof m - 1) == siphash24(k1, m, sizeof m - 1));
}

static const struct check_case cases[] = {
    CHECK_CASE(test_vectors),
    CHECK_CASE(test_known_first),
    CHECK_CASE(test_sensitivity),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
