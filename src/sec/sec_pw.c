/* sec_pw.c -- the PW provider chosen by [security] pw_mode: fills a downlink frame's PW from
 * the terminal's key-file entry (file) or as a truncated HMAC-SHA256 of the frame's user data
 * (hmac). See include/meterflow/sec.h and docs/SECURITY.md for what is computed over which
 * bytes.
 *
 * Invariant: p->keys is only replaced under the write lock; sec_pw_fill reads it under the
 * read lock, so a reload never frees keys a fill is using.
 * Thread: sec_pw_fill on the front's I/O threads; new/reload/free on the main thread. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/front.h"
#include "meterflow/gw3761.h"
#include "meterflow/log.h"
#include "meterflow/sec.h"

#define SEC_MOD "security"

struct sec_pw {
    int mode;                /* enum sec_pw_mode, FILE or HMAC */
    size_t mac_len;
    char *path;              /* owned */
    pthread_rwlock_t lock;
    struct sec_keys keys;    /* under lock */
};

struct sec_pw *sec_pw_new(const struct mf_config *cfg, char *errbuf, size_t errlen)
{
    const char *mode = mf_config_str(cfg, "security", "pw_mode");
    const char *path = mf_config_str(cfg, "security", "pw_key_file");
    char why[400];
    struct sec_pw *p;

    errbuf[0] = '\0';
    if (strcmp(mode, "zero") == 0)
        return NULL;
    if (!path[0]) {
        snprintf(errbuf, errlen, "[security] pw_key_file: required when pw_mode = %s", mode);
        return NULL;
    }
    if (sodium_init() < 0) {
        snprintf(errbuf, errlen, "[security] pw_mode: libsodium failed to initialise");
        return NULL;
    }
    p = mf_calloc(1, sizeof(*p));
    p->mode = strcmp(mode, "hmac") == 0 ? SEC_PW_HMAC : SEC_PW_FILE;
    p->mac_len = (size_t)mf_config_int(cfg, "security", "pw_mac_len");
    p->path = mf_strdup(path);
    pthread_rwlock_init(&p->lock, NULL);
    if (sec_keys_load(path, p->mode, &p->keys, why, sizeof(why)) != 0) {
        snprintf(errbuf, errlen, "[security] pw_key_file: %s", why);
        sec_pw_free(p);
        return NULL;
    }
    mf_info(SEC_MOD, "PW from %s (%s mode): %zu terminal keys%s", p->path, mode, p->keys.n,
            p->keys.has_default ? " and a default" : ", no default");
    return p;
}

int sec_pw_reload(struct sec_pw *p, size_t *n_keys, char *errbuf, size_t errlen)
{
    struct sec_keys nk, old;
    int rc = sec_keys_load(p->path, p->mode, &nk, errbuf, errlen);
    if (rc != 0)
        return rc;
    pthread_rwlock_wrlock(&p->lock);
    old = p->keys;
    p->keys = nk;
    pthread_rwlock_unlock(&p->lock);
    sec_keys_fini(&old);
    *n_keys = nk.n;
    return 0;
}

int sec_pw_fill(void *opaque, const struct front_pw_req *rq, uint8_t *out, size_t pw_len)
{
    struct sec_pw *p = opaque;
    int rc = 0;

    pthread_rwlock_rdlock(&p->lock);
    const struct sec_key *k = sec_keys_find(&p->keys, gw_terminal_key(rq->a1, rq->a2));
    if (!k) {
        rc = MF_ENOTFOUND;
    } else if (p->mode == SEC_PW_FILE) {
        memcpy(out, k->b, MF_MIN((size_t)k->len, pw_len));
    } else {
        sec_hmac_sha256(k->b, k->len, rq->ud, rq->ud_len, out, MF_MIN(p->mac_len, pw_len));
    }
    pthread_rwlock_unlock(&p->lock);
    return rc;
}

void sec_pw_free(struct sec_pw *p)
{
    if (!p)
        return;
    sec_keys_fini(&p->keys);
    pthread_rwlock_destroy(&p->lock);
    free(p->path);
    free(p);
}
