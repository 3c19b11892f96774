/* frame_test_util.h -- wrap a data-unit area written by hand into a 376.1 frame for tests
 * of the modules above the codec (worker, proc): 68 L L 68, the 8 header bytes given (C, A
 * 5 bytes, AFN, SEQ), the units, CS, 16, with L = (user data << 2) | 2 and CS the byte sum
 * of the user data (protocol-3761.md section 1.2). Written here, independently of the
 * codec's gw_frame_encode, so that a test does not check the codec against itself.
 * Static functions (each test file includes it once). */
#ifndef MF_TEST_FRAME_UTIL_H
#define MF_TEST_FRAME_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "meterflow/common.h"

/* hdr = C A1lo A1hi A2lo A2hi A3 AFN SEQ; units as hex (spaces allowed). Returns the frame
 * length in f (cap bytes); a bad hex string or too small a buffer fails the test and
 * returns 0. */
MF_UNUSED static size_t tf_wrap(const uint8_t hdr[8], const char *units_hex, uint8_t *f,
                                size_t cap)
{
    uint8_t u[1024];
    int n = mf_hex_decode(units_hex, u, sizeof(u));
    if (n < 0 || (size_t)n + 16u > cap) {
        mf_test_fail(__FILE__, __LINE__, "tf_wrap: bad hex or no room: %.60s", units_hex);
        return 0;
    }
    size_t ud = 8u + (size_t)n, k = 0;
    f[k++] = 0x68;
    f[k++] = (uint8_t)((ud << 2 | 2u) & 0xFFu);
    f[k++] = (uint8_t)((ud << 2 | 2u) >> 8);
    f[k++] = f[1];
    f[k++] = f[2];
    f[k++] = 0x68;
    memcpy(f + k, hdr, 8);
    k += 8;
    memcpy(f + k, u, (size_t)n);
    k += (size_t)n;
    uint8_t cs = 0;
    for (size_t i = 6; i < k; i++)
        cs = (uint8_t)(cs + f[i]);
    f[k++] = cs;
    f[k++] = 0x16;
    return k;
}

/* An uplink answer of terminal 0171-0822 (the public vectors' terminal): C=88, MSA 1
 * (A3 02), SEQ 60 (FIR FIN, PSEQ 0). */
MF_UNUSED static size_t tf_answer_0171(uint8_t afn, const char *units_hex, uint8_t *f,
                                       size_t cap)
{
    const uint8_t hdr[8] = {0x88, 0x71, 0x01, 0x22, 0x08, 0x02, afn, 0x60};
    return tf_wrap(hdr, units_hex, f, cap);
}

#endif
