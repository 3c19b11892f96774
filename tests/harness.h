/* harness.h -- a tiny test harness (after picotest): tests register themselves, every
 * failed check prints file:line and the values, each test prints one TAP-style line:
 *   ok 3 - gw_scan_resync
 *   not ok 4 - gw_scan_split
 * and the binary ends with "# N passed, M failed" and exits non-zero on any failure.
 * scripts/run-unit.sh adds the counts of every binary into the final summary line.
 *
 * Usage:
 *   MF_TEST(scan_resync) { CHECK_EQ_INT(gw_frame_scan(...), 0); }
 * Run one test: ./build/asan/tests/test_x scan_resync */
#ifndef MF_TEST_HARNESS_H
#define MF_TEST_HARNESS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*mf_test_fn)(void);
void mf_test_register(const char *name, mf_test_fn fn);
void mf_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Path of ../shared (the vectors), from MF_SHARED or the repo's sibling directory. */
const char *mf_test_shared_dir(void);
/* Read a whole file (test fixtures); gives a NUL-terminated buffer, NULL on failure. */
char *mf_test_read_file(const char *path, size_t *len);

#define MF_TEST(name)                                                                          \
    static void test_##name(void);                                                             \
    __attribute__((constructor)) static void reg_##name(void)                                  \
    {                                                                                          \
        mf_test_register(#name, test_##name);                                                  \
    }                                                                                          \
    static void test_##name(void)

#define CHECK(c)                                                                               \
    do {                                                                                       \
        if (!(c))                                                                              \
            mf_test_fail(__FILE__, __LINE__, "CHECK(%s)", #c);                                 \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                     \
    do {                                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                  \
        if (va_ != vb_)                                                                        \
            mf_test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, va_, #b,   \
                         vb_);                                                                 \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                                  \
    do {                                                                                       \
        double va_ = (double)(a), vb_ = (double)(b);                                            \
        if (!(fabs(va_ - vb_) <= (eps)))                                                       \
            mf_test_fail(__FILE__, __LINE__, "%s == %.10g, expected %.10g", #a, va_, vb_);     \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                             \
            mf_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,              \
                         sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                          \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                     \
    do {                                                                                       \
        if (memcmp((a), (b), (n)) != 0)                                                        \
            mf_test_fail(__FILE__, __LINE__, "%s differs from %s (%zu bytes)", #a, #b,         \
                         (size_t)(n));                                                         \
    } while (0)

#endif
