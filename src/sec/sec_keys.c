/* sec_keys.c -- the PW key file: parse `RRRR-TTTT HEX` / `default HEX` lines into a sorted
 * table, load a file after checking its permissions, look a terminal up; and the HMAC.
 *
 * The file is outside input (an operator's file, possibly generated): every line is capped
 * at SEC_KEYLINE_MAX characters, the file at SEC_KEYFILE_MAX bytes, so the entry count that
 * reaches the allocator is bounded by the file cap. Error messages carry the file name, the
 * line number and the reason; they never quote a value (key material).
 *
 * Invariants: out->v is sorted by term with no duplicate; every entry's len is within the
 * mode's bounds. Thread: any (no shared state); tests/fuzz/fuzz_sec_keys.c drives the parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meterflow/gw3761.h"
#include "meterflow/sec.h"

/* Split a line (no newline) into two whitespace-separated fields. 0 or -1 (not two). */
static int fields(const char *p, size_t n, const char **f1, size_t *n1, const char **f2,
                  size_t *n2)
{
    size_t i = 0, s;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    s = i;
    while (i < n && p[i] != ' ' && p[i] != '\t')
        i++;
    *f1 = p + s;
    *n1 = i - s;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    s = i;
    while (i < n && p[i] != ' ' && p[i] != '\t')
        i++;
    *f2 = p + s;
    *n2 = i - s;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return (*n1 > 0 && *n2 > 0 && i == n) ? 0 : -1;
}

/* One line into *e (term unset for `default`). NULL, or the reason it is refused. */
static const char *line_parse(const char *p, size_t n, int mode, struct sec_key *e, int *is_def)
{
    const char *f1, *f2;
    size_t n1, n2;
    char id[16];
    uint16_t a1, a2;

    if (fields(p, n, &f1, &n1, &f2, &n2) != 0)
        return "expected `RRRR-TTTT HEX` or `default HEX`";
    *is_def = n1 == 7 && memcmp(f1, "default", 7) == 0;
    if (!*is_def) {
        if (n1 != 9)
            return "bad terminal id (RRRR-TTTT)";
        memcpy(id, f1, n1);
        id[n1] = '\0';
        if (gw_terminal_parse(id, &a1, &a2) != 0)
            return "bad terminal id (RRRR-TTTT)";
        e->term = gw_terminal_key(a1, a2);
    }
    if (n2 % 2 != 0 || n2 > 2 * SEC_KEY_MAX)
        return "value is not 2..64 hex digits";
    for (size_t i = 0; i < n2; i += 2) {
        int h = mf_hex_digit((unsigned char)f2[i]), l = mf_hex_digit((unsigned char)f2[i + 1]);
        if (h < 0 || l < 0)
            return "value is not hex";
        e->b[i / 2] = (uint8_t)(h << 4 | l);
    }
    e->len = (uint8_t)(n2 / 2);
    if (mode == SEC_PW_FILE && e->len > GW_PW_LEN)
        return "a PW value is at most 16 bytes (32 hex digits)";
    if (mode == SEC_PW_HMAC && e->len < 16)
        return "an HMAC key is at least 16 bytes (32 hex digits)";
    return NULL;
}

static int key_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct sec_key *)a)->term, y = ((const struct sec_key *)b)->term;
    return x < y ? -1 : x > y;
}

static int fail(struct sec_keys *out, char *errbuf, size_t errlen, const char *name, size_t line,
                const char *why)
{
    if (line)
        snprintf(errbuf, errlen, "%s:%zu: %s", name, line, why);
    else
        snprintf(errbuf, errlen, "%s: %s", name, why);
    sec_keys_fini(out);
    return MF_EINVAL;
}

/* Count the lines (an upper bound of the entries): the table is sized once. */
static size_t count_lines(const char *text, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    return n;
}

int sec_keys_parse(const char *text, size_t len, int mode, const char *name, struct sec_keys *out,
                   char *errbuf, size_t errlen)
{
    size_t line = 0, pos = 0;

    memset(out, 0, sizeof(*out));
    if (len > SEC_KEYFILE_MAX)
        return fail(out, errbuf, errlen, name, 0, "file larger than 64 MiB");
    out->v = mf_calloc(count_lines(text, len), sizeof(*out->v));
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *p = text + pos;
        struct sec_key e;
        int is_def = 0;

        line++;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > SEC_KEYLINE_MAX)
            return fail(out, errbuf, errlen, name, line, "line longer than 256 characters");
        if (memchr(p, '\0', n))
            return fail(out, errbuf, errlen, name, line, "NUL byte");
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i == n || p[i] == '#')
            continue;
        memset(&e, 0, sizeof(e));
        const char *why = line_parse(p, n, mode, &e, &is_def);
        if (why)
            return fail(out, errbuf, errlen, name, line, why);
        if (is_def) {
            if (out->has_default)
                return fail(out, errbuf, errlen, name, line, "second `default` line");
            out->def = e;
            out->has_default = 1;
        } else {
            out->v[out->n++] = e;
        }
    }
    qsort(out->v, out->n, sizeof(*out->v), key_cmp);
    for (size_t i = 1; i < out->n; i++) {
        if (out->v[i].term == out->v[i - 1].term) {
            char id[GW_TERMINAL_STRLEN], why[64];
            gw_terminal_format((uint16_t)(out->v[i].term >> 16), (uint16_t)out->v[i].term, id);
            snprintf(why, sizeof(why), "terminal %s listed twice", id);
            return fail(out, errbuf, errlen, name, 0, why);
        }
    }
    return 0;
}

void sec_keys_fini(struct sec_keys *k)
{
    if (!k)
        return;
    if (k->v)
        sodium_memzero(k->v, k->n * sizeof(*k->v));
    free(k->v);
    sodium_memzero(k, sizeof(*k));
}

const struct sec_key *sec_keys_find(const struct sec_keys *k, uint32_t term)
{
    struct sec_key probe;
    probe.term = term;
    const struct sec_key *e = k->n ? bsearch(&probe, k->v, k->n, sizeof(*k->v), key_cmp) : NULL;
    if (e)
        return e;
    return k->has_default ? &k->def : NULL;
}

/* Open, check (regular, no group/world bits, size) and read the whole file. */
static int read_checked(const char *path, char **text, size_t *len, char *errbuf, size_t errlen)
{
    char eb[128];
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: %s", path, mf_strerror(errno, eb, sizeof(eb)));
        return MF_ESYS;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(errbuf, errlen, "%s: not a regular file", path);
        goto fail;
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(errbuf, errlen,
                 "%s: mode %04o gives group/others access to key material; "
                 "chmod 600 it (owner only)",
                 path, (unsigned)(sb.st_mode & 07777));
        goto fail;
    }
    if ((uint64_t)sb.st_size > SEC_KEYFILE_MAX) {
        snprintf(errbuf, errlen, "%s: larger than 64 MiB", path);
        goto fail;
    }
    *len = (size_t)sb.st_size;
    *text = mf_malloc(*len + 1);
    size_t got = 0;
    while (got < *len) {
        ssize_t r = read(fd, *text + got, *len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *len = got; /* a file that shrank while read is parsed as read */
    return 0;
fail:
    close(fd);
    return MF_EINVAL;
}

int sec_keys_load(const char *path, int mode, struct sec_keys *out, char *errbuf, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;

    memset(out, 0, sizeof(*out));
    int rc = read_checked(path, &text, &len, errbuf, errlen);
    if (rc != 0)
        return rc;
    rc = sec_keys_parse(text, len, mode, path, out, errbuf, errlen);
    sodium_memzero(text, len);
    free(text);
    return rc;
}

void sec_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                     uint8_t *out, size_t out_len)
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];

    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, msg, msg_len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, mac, MF_MIN(out_len, sizeof(mac)));
    sodium_memzero(mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}
