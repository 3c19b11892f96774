/* app_sec.c -- the PW key source of `meterflow run` and `meterflow front` ([security],
 * include/meterflow/sec.h): built from config, installed on the front, re-read on SIGHUP.
 * Thread: main (the SIGHUP flag is set by the handler, taken by the main loop). */
#include <signal.h>
#include <stdio.h>

#include "app/app.h"
#include "meterflow/front.h"
#include "meterflow/log.h"
#include "meterflow/sec.h"

static volatile sig_atomic_t app_hup; /* set by the SIGHUP handler only */

static void on_hup(int sig)
{
    (void)sig;
    app_hup = 1;
}

void app_hup_install(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
}

int app_pw_setup(const struct mf_config *cfg, struct front *f, struct sec_pw **out,
                 const char *cmd)
{
    char err[512];
    *out = sec_pw_new(cfg, err, sizeof(err));
    if (!*out && err[0]) {
        fprintf(stderr, "meterflow %s: config error: %s\n", cmd, err);
        return -1;
    }
    if (*out)
        front_set_pw_provider(f, sec_pw_fill, *out);
    return 0;
}

void app_pw_poll(struct sec_pw *p)
{
    char err[512];
    size_t n = 0;

    if (!app_hup)
        return;
    app_hup = 0;
    if (!p) {
        mf_info("security", "SIGHUP: [security] pw_mode = zero, no key file to re-read");
        return;
    }
    if (sec_pw_reload(p, &n, err, sizeof(err)) == 0)
        mf_info("security", "SIGHUP: PW key file re-read: %zu terminal keys", n);
    else
        mf_error("security", "SIGHUP: PW key file not re-read (old keys kept): %s", err);
}
