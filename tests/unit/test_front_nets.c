/* test_front_nets.c -- [front] login_trusted_nets: the CIDR list parser and the peer match
 * (src/front/front_nets.c), without sockets. Networks and peers are written by hand; the
 * expected answers follow from the prefix arithmetic done by hand in each comment. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front_int.h"
#include "harness.h"

static const char *const KEY = "[front] login_trusted_nets";

static struct sockaddr_in6 peer4(const char *ip)
{
    struct sockaddr_in6 p;
    struct sockaddr_in *s = (struct sockaddr_in *)(void *)&p;
    memset(&p, 0, sizeof(p));
    s->sin_family = AF_INET;
    CHECK_EQ_INT(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    return p;
}

static struct sockaddr_in6 peer6(const char *ip)
{
    struct sockaddr_in6 p;
    memset(&p, 0, sizeof(p));
    p.sin6_family = AF_INET6;
    CHECK_EQ_INT(inet_pton(AF_INET6, ip, &p.sin6_addr), 1);
    return p;
}

static int in4(const struct front_net *nets, size_t n, const char *ip)
{
    struct sockaddr_in6 p = peer4(ip);
    return front_nets_match(nets, n, &p);
}

static int in6(const struct front_net *nets, size_t n, const char *ip)
{
    struct sockaddr_in6 p = peer6(ip);
    return front_nets_match(nets, n, &p);
}

/* A peer and whether the list holds it; an address with ':' is an IPv6 peer. */
struct probe {
    const char *ip;
    int in;
};

/* Parse list (n_nets networks in it) and ask the match for every probe; a wrong answer names
 * the peer and the list. */
static void check_probes(const char *list, size_t n_nets, const struct probe *pr, size_t n_pr)
{
    struct front_net *nets;
    size_t n;
    char err[200] = "";
    int rc = front_nets_parse(list, &nets, &n, KEY, err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    if (rc != 0)
        return;
    CHECK_EQ_INT(n, n_nets);
    for (size_t i = 0; i < n_pr; i++) {
        int got = strchr(pr[i].ip, ':') ? in6(nets, n, pr[i].ip) : in4(nets, n, pr[i].ip);
        if (got != pr[i].in)
            mf_test_fail(__FILE__, __LINE__, "%s in \"%s\": %d, expected %d", pr[i].ip, list,
                         got, pr[i].in);
    }
    free(nets);
}

MF_TEST(empty_list_matches_nothing)
{
    struct front_net *nets = (struct front_net *)1;
    size_t n = 9;
    char err[200] = "";
    CHECK_EQ_INT(front_nets_parse(" , \n", &nets, &n, KEY, err, sizeof(err)), 0);
    CHECK_EQ_INT(n, 0);
    CHECK(nets == NULL);
    CHECK_EQ_INT(in4(nets, n, "10.0.0.1"), 0);
}

/* 10.20.0.0/16 holds 10.20.0.0-10.20.255.255; 192.0.2.7 alone is /32; 172.16.0.0/12 holds
 * 172.16.0.0-172.31.255.255 (second byte 0001 xxxx); 10.128.0.0/9 holds 10.128-10.255. */
MF_TEST(ipv4_networks)
{
    static const struct probe pr[] = {
        { "10.20.0.0", 1 },      { "10.20.255.255", 1 },  { "10.21.0.1", 0 },
        { "10.19.255.255", 0 },  { "192.0.2.7", 1 },      { "192.0.2.8", 0 },
        { "172.31.200.1", 1 },   { "172.32.0.1", 0 },     { "172.15.255.255", 0 },
        { "10.128.0.0", 1 },     { "10.255.1.1", 1 },     { "10.127.255.255", 0 },
        /* the same IPv4 peer seen through a dual-stack listener */
        { "::ffff:10.20.3.4", 1 }, { "::ffff:10.21.3.4", 0 },
        /* an IPv6 peer whose last 32 bits look like 10.20.3.4 is not that IPv4 address */
        { "::10.20.3.4", 0 },
    };
    check_probes("10.20.0.0/16, 192.0.2.7\t172.16.0.0/12\n10.128.0.0/9", 4, pr,
                 MF_ARRAY_LEN(pr));
}

/* 0.0.0.0/0 holds every IPv4 address and no IPv6 one (it is ::ffff:0:0/96). */
MF_TEST(ipv4_default_route_is_ipv4_only)
{
    static const struct probe pr[] = {
        { "203.0.113.9", 1 }, { "255.255.255.255", 1 }, { "2001:db8::1", 0 },
    };
    check_probes("0.0.0.0/0", 1, pr, MF_ARRAY_LEN(pr));
}

/* 2001:db8:a::/48; fd00::/8; 2001:db8:ff::1 alone; 2001:db8:100::/41: the 41st bit is the
 * top bit of the 6th byte (0x01 of 0x0100 is bit 40 -> ... 2001:0db8:01|00::): holds
 * 2001:db8:100:: to 2001:db8:17f:ffff:... */
MF_TEST(ipv6_networks)
{
    static const struct probe pr[] = {
        { "2001:db8:a:ffff::5", 1 },   { "2001:db8:b::5", 0 },   { "fdff:1::1", 1 },
        { "fe00::1", 0 },              { "2001:db8:ff::1", 1 },  { "2001:db8:ff::2", 0 },
        { "2001:db8:17f:ffff::1", 1 }, { "2001:db8:180::1", 0 }, { "2001:db8:ff:ffff::1", 0 },
        { "10.0.0.1", 0 },
    };
    check_probes("2001:db8:a::/48 fd00::/8,2001:db8:ff::1, 2001:db8:100::/41", 4, pr,
                 MF_ARRAY_LEN(pr));
}

/* Every bad item stops parsing with the key and the item in the message, and nothing is
 * returned (the front refuses to start). */
MF_TEST(bad_items_name_the_key_and_the_item)
{
    static const char *const bad[] = {
        "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "/8", "banana", "10.0.0.0/8x", "10.0.0.0/-1",
        "10.0.0.0/ 8", "10.1.2.3/8", "2001:db8::/129", "2001:db8::1/64", "10.0.0.256",
        "10.0.0.0/0008", "::ffff:10.0.0.1/200",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct front_net *nets = (struct front_net *)1;
        size_t n = 7;
        char err[200] = "", text[100];
        snprintf(text, sizeof(text), "192.0.2.0/24, %s", bad[i]);
        CHECK_EQ_INT(front_nets_parse(text, &nets, &n, KEY, err, sizeof(err)), MF_EINVAL);
        CHECK(nets == NULL);
        CHECK_EQ_INT(n, 0);
        CHECK(strstr(err, KEY) != NULL);
        if (strcmp(bad[i], "10.0.0.0/ 8") == 0) /* splits into "10.0.0.0/" and "8" */
            CHECK(strstr(err, "'10.0.0.0/'") != NULL);
        else if (!strstr(err, bad[i]))
            mf_test_fail(__FILE__, __LINE__, "'%s': message does not name it: %s", bad[i], err);
    }
}

/* FRONT_NETS_MAX items are taken; one more and the list is refused (a bounded table). */
MF_TEST(at_most_front_nets_max)
{
    size_t cap = (FRONT_NETS_MAX + 1) * 16;
    char *text = calloc(1, cap);
    size_t len = 0, n;
    struct front_net *nets;
    char err[200] = "";
    for (int i = 0; i < FRONT_NETS_MAX; i++)
        len += (size_t)snprintf(text + len, cap - len, "10.%d.%d.0/24,", i / 256, i % 256);
    CHECK_EQ_INT(front_nets_parse(text, &nets, &n, KEY, err, sizeof(err)), 0);
    CHECK_EQ_INT(n, FRONT_NETS_MAX);
    CHECK_EQ_INT(in4(nets, n, "10.3.255.7"), 1); /* the last: i = 1023 -> 10.3.255.0/24 */
    CHECK_EQ_INT(in4(nets, n, "10.4.0.7"), 0);
    free(nets);
    snprintf(text + len, cap - len, "10.4.0.0/24");
    CHECK_EQ_INT(front_nets_parse(text, &nets, &n, KEY, err, sizeof(err)), MF_EINVAL);
    CHECK(strstr(err, KEY) != NULL);
    CHECK(strstr(err, "more than") != NULL);
    free(text);
}
