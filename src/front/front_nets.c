/* front_nets.c -- source networks in CIDR form ([front] login_trusted_nets): parse a list
 * once at start-up, then answer "is this peer inside one of them" per login.
 *
 * Invariants: every network is held as a 16-byte IPv6 address and a prefix length; an IPv4
 * network a.b.c.d/n is held as its IPv4-mapped form ::ffff:a.b.c.d/(96+n), so an IPv4 peer
 * (AF_INET) and the same peer seen through a dual-stack listener (::ffff:a.b.c.d) match the
 * same entries. Bits past the prefix are zero (a network with host bits set is refused: it is
 * almost always a typing error, and it would silently mean a wider or other network).
 * A list has at most FRONT_NETS_MAX entries.
 *
 * Who calls: front_new (parse, main thread, before the I/O threads start); front_login_allowed
 * (match, any I/O thread; the list is read-only after start-up, so no lock). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front_int.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* One "addr[/bits]" item into *net; 0 or MF_EINVAL with err naming `what` and the item. */
static int net_parse_one(const char *item, struct front_net *net, const char *what, char *err,
                         size_t errlen)
{
    char addr[64];
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    int is4, maxbits, bits;
    uint8_t b[16] = { 0 };

    if (alen == 0 || alen >= sizeof(addr))
        goto bad;
    memcpy(addr, item, alen);
    addr[alen] = 0;
    is4 = strchr(addr, ':') == NULL;
    if (inet_pton(is4 ? AF_INET : AF_INET6, addr, is4 ? b + 12 : b) != 1)
        goto bad;
    if (is4)
        memcpy(b, v4_mapped, sizeof(v4_mapped));
    maxbits = is4 ? 32 : 128;
    bits = maxbits;
    if (slash) { /* 1 to 3 decimal digits, nothing else */
        const char *p = slash + 1;
        size_t nd = strspn(p, "0123456789");
        if (nd == 0 || nd > 3 || p[nd] != 0)
            goto bad;
        bits = 0;
        for (size_t i = 0; i < nd; i++)
            bits = bits * 10 + (p[i] - '0');
        if (bits > maxbits)
            goto bad;
    }
    bits += 128 - maxbits;
    for (int i = bits; i < 128; i++)
        if (b[i / 8] & (0x80u >> (i % 8))) {
            snprintf(err, errlen, "%s: '%s' has address bits set past the /%d prefix (write "
                     "the network address)", what, item, bits - (128 - maxbits));
            return MF_EINVAL;
        }
    memcpy(net->addr, b, sizeof(b));
    net->bits = (uint8_t)bits;
    return 0;
bad:
    snprintf(err, errlen, "%s: '%s' is not a network (a.b.c.d/n with n <= 32, an IPv6 "
             "address/n with n <= 128, or one address)", what, item);
    return MF_EINVAL;
}

int front_nets_parse(const char *text, struct front_net **out, size_t *n, const char *what,
                     char *err, size_t errlen)
{
    const char *p = text;

    *out = NULL;
    *n = 0;
    while (*p) {
        char item[80];
        size_t len = strcspn(p, ", \t\r\n");
        if (len == 0) {
            p++;
            continue;
        }
        if (len >= sizeof(item) || *n >= FRONT_NETS_MAX) {
            if (len >= sizeof(item))
                snprintf(err, errlen, "%s: '%.20s...' is not a network (too long)", what, p);
            else
                snprintf(err, errlen, "%s: more than %d networks", what, FRONT_NETS_MAX);
            goto fail;
        }
        memcpy(item, p, len);
        item[len] = 0;
        p += len;
        if (*n % 16 == 0)
            *out = mf_realloc(*out, (*n + 16) * sizeof(**out));
        if (net_parse_one(item, &(*out)[*n], what, err, errlen) != 0)
            goto fail;
        (*n)++;
    }
    return 0;
fail:
    free(*out);
    *out = NULL;
    *n = 0;
    return MF_EINVAL;
}

int front_nets_match(const struct front_net *nets, size_t n, const struct sockaddr_in6 *peer)
{
    uint8_t a[16];

    if (peer->sin6_family == AF_INET) {
        memcpy(a, v4_mapped, sizeof(v4_mapped));
        memcpy(a + 12, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, 4);
    } else if (peer->sin6_family == AF_INET6) {
        memcpy(a, &peer->sin6_addr, sizeof(a));
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned full = nets[i].bits / 8u, rest = nets[i].bits % 8u;
        if (memcmp(a, nets[i].addr, full) != 0)
            continue;
        if (rest && ((a[full] ^ nets[i].addr[full]) & (uint8_t)(0xffu << (8 - rest))) != 0)
            continue;
        return 1;
    }
    return 0;
}
