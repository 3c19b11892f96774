/* sim_ledger.c -- append-only ledger of confirmed values: buffered, whole-line writes with
 * O_APPEND (safe with several simulator processes on one file), fsync at close; and the
 * line formatter/parser used by the engine and by --verify.
 *
 * Invariant: the buffer only ever holds whole lines, so a write() never splits one.
 * Thread: the owning simulator process's loop thread. */
#include "sim/sim_ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meterflow/common.h"

int sim_ledger_open(struct sim_ledger *l, const char *path, char *errbuf, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    mf_buf_init(&l->buf, SIM_LEDGER_FLUSH * 4);
    if (!path)
        return 0;
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        char eb[128];
        snprintf(errbuf, errlen, "ledger %s: %s", path, mf_strerror(errno, eb, sizeof(eb)));
        return MF_ESYS;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MF_ESYS;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int sim_ledger_flush(struct sim_ledger *l)
{
    if (l->fd < 0 || l->buf.len == 0) {
        l->buf.len = 0;
        return 0;
    }
    int rc = write_all(l->fd, l->buf.data, l->buf.len);
    l->buf.len = 0;
    if (rc)
        l->failed = 1;
    return rc;
}

int sim_ledger_append(struct sim_ledger *l, const char *text, size_t len, uint32_t nlines)
{
    l->lines += nlines;
    if (l->fd < 0)
        return 0;
    if (l->buf.len + len > SIM_LEDGER_FLUSH && sim_ledger_flush(l) != 0)
        return MF_ESYS;
    if (len > SIM_LEDGER_FLUSH) { /* a big batch (a curve frame): straight through */
        if (write_all(l->fd, (const uint8_t *)text, len) != 0) {
            l->failed = 1;
            return MF_ESYS;
        }
        return 0;
    }
    return mf_buf_append(&l->buf, text, len) == 0 ? 0 : MF_ESYS;
}

int sim_ledger_close(struct sim_ledger *l)
{
    int rc = 0;
    if (l->fd >= 0) {
        if (sim_ledger_flush(l) != 0 || fsync(l->fd) != 0)
            l->failed = 1;
        close(l->fd);
        l->fd = -1;
    }
    if (l->failed)
        rc = MF_ESYS;
    mf_buf_fini(&l->buf);
    return rc;
}

size_t sim_ledger_format(char *out, const char *terminal, unsigned pn, const char *item,
                         const char *time, unsigned tariff, int64_t value, int decimals)
{
    static const int64_t scale[] = { 1, 10, 100, 1000, 10000 };
    int n;
    const char *sign = value < 0 ? "-" : "";
    int64_t a = value < 0 ? -value : value;
    if (decimals <= 0 || decimals > 4)
        n = snprintf(out, SIM_LEDGER_LINE_MAX, "%s %u %s %s %u %s%" PRId64 "\n", terminal, pn,
                     item, time, tariff, sign, a);
    else
        n = snprintf(out, SIM_LEDGER_LINE_MAX, "%s %u %s %s %u %s%" PRId64 ".%0*" PRId64 "\n",
                     terminal, pn, item, time, tariff, sign, a / scale[decimals], decimals,
                     a % scale[decimals]);
    if (n < 0)
        return 0;
    return (size_t)n < SIM_LEDGER_LINE_MAX ? (size_t)n : SIM_LEDGER_LINE_MAX - 1;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    if (!*s || *s == '-')
        return MF_EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return MF_EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int parse_fixed(const char *s, int64_t *value, int *decimals)
{
    int neg = *s == '-';
    int64_t v = 0;
    int dec = -1;
    s += neg;
    if (!*s)
        return MF_EINVAL;
    for (; *s; s++) {
        if (*s == '.' && dec < 0) {
            dec = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || v > INT64_MAX / 10 - 10)
            return MF_EINVAL;
        v = v * 10 + (*s - '0');
        if (dec >= 0 && ++dec > 6)
            return MF_EINVAL;
    }
    *value = neg ? -v : v;
    *decimals = dec < 0 ? 0 : dec;
    return 0;
}

int sim_ledger_parse(char *line, struct sim_ledger_rec *rec)
{
    char *f[6];
    size_t n = strcspn(line, "\r\n");
    line[n] = 0;
    if (line[0] == '#' || line[0] == 0)
        return 1;
    int k = 0;
    char *p = line;
    while (*p) { /* split on single spaces; exactly six non-empty fields */
        if (k == 6)
            return MF_EINVAL;
        f[k++] = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = 0;
        if (*f[k - 1] == 0)
            return MF_EINVAL;
    }
    if (k != 6)
        return MF_EINVAL;
    rec->terminal = f[0];
    rec->item = f[2];
    rec->time = f[3];
    if (parse_uint(f[1], 2040, &rec->pn) || parse_uint(f[4], 14, &rec->tariff) ||
        parse_fixed(f[5], &rec->value, &rec->decimals))
        return MF_EINVAL;
    return 0;
}
