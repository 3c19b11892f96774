/* cmd_user.c -- `meterflow user`: manage panel users directly in the store (this is how the
 * first admin is created).
 *
 *   meterflow user [-c FILE] [--set k=v] add NAME --role ROLE   password from standard input
 *   meterflow user ... passwd NAME                              password from standard input
 *   meterflow user ... role NAME ROLE
 *   meterflow user ... del NAME
 *   meterflow user ... list
 *
 * The password is read from standard input (one line; on a terminal without echo, twice) so
 * that it never appears in argv, the shell history or the process list; it is hashed with
 * Argon2id (web_user_password_hash) and wiped from memory.
 * Thread: main. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "meterflow/common.h"
#include "meterflow/store.h"
#include "meterflow/web.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: meterflow user [-c FILE] [--set section.key=value]... COMMAND\n"
                 "  add NAME --role viewer|operator|admin   (password on standard input)\n"
                 "  passwd NAME                             (password on standard input)\n"
                 "  role NAME viewer|operator|admin\n"
                 "  del NAME\n"
                 "  list\n");
}

/* One line from stdin into pw (newline stripped). 0 or -1. */
static int read_line(const char *prompt, char *pw, size_t len)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, noecho;

    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &noecho);
    }
    char *r = fgets(pw, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    if (!r)
        return -1;
    pw[strcspn(pw, "\r\n")] = '\0';
    return 0;
}

static int read_password(char *pw, size_t len)
{
    if (read_line("password: ", pw, len) != 0)
        return -1;
    if (isatty(STDIN_FILENO)) {
        char again[300];
        if (read_line("again: ", again, sizeof(again)) != 0 || strcmp(pw, again) != 0) {
            sodium_memzero(again, sizeof(again));
            fprintf(stderr, "meterflow user: passwords differ\n");
            return -1;
        }
        sodium_memzero(again, sizeof(again));
    }
    return 0;
}

/* Set name's password (read from stdin) and role. 0 or 1. */
static int put_user(struct store *st, const char *name, const char *role, int64_t created)
{
    char pw[300], hash[STORE_HASH_MAX], why[128];
    int rc = 1;

    if (read_password(pw, sizeof(pw)) != 0) {
        fprintf(stderr, "meterflow user: no password on standard input\n");
        return 1;
    }
    if (web_user_check(name, role, pw, why, sizeof(why)) != 0)
        fprintf(stderr, "meterflow user: %s\n", why);
    else if (web_user_password_hash(pw, hash, sizeof(hash)) != 0)
        fprintf(stderr, "meterflow user: password hashing failed (out of memory?)\n");
    else if (store_user_put(st, name, role, hash, created) != 0)
        fprintf(stderr, "meterflow user: the store refused to save '%s'\n", name);
    else
        rc = 0;
    sodium_memzero(pw, sizeof(pw));
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

static int do_cmd(struct store *st, int argc, char **argv)
{
    struct store_user u;
    char why[128];
    int64_t now = (int64_t)time(NULL);
    const char *cmd = argv[0], *name = argc > 1 ? argv[1] : NULL;

    if (strcmp(cmd, "list") == 0) {
        json_t *l = NULL;
        if (store_users_json(st, &l) != 0)
            return 1;
        char *s = json_dumps(l, JSON_INDENT(2));
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(l);
        return 0;
    }
    if (!name || web_user_check(name, NULL, NULL, why, sizeof(why)) != 0) {
        usage(stderr);
        return 2;
    }
    int exists = store_user_get(st, name, &u) == 0;
    if (strcmp(cmd, "add") == 0 && argc == 4 && strcmp(argv[2], "--role") == 0) {
        if (exists) {
            fprintf(stderr, "meterflow user: '%s' exists (use passwd or role)\n", name);
            return 1;
        }
        return put_user(st, name, argv[3], now);
    }
    if (!exists) {
        fprintf(stderr, "meterflow user: no user '%s'\n", name);
        return 1;
    }
    if (strcmp(cmd, "passwd") == 0 && argc == 2)
        return put_user(st, name, u.role, u.created_at);
    if (strcmp(cmd, "role") == 0 && argc == 3) {
        if (web_user_check(NULL, argv[2], NULL, why, sizeof(why)) != 0) {
            fprintf(stderr, "meterflow user: %s\n", why);
            return 2;
        }
        return store_user_put(st, name, argv[2], u.hash, u.created_at) == 0 ? 0 : 1;
    }
    if (strcmp(cmd, "del") == 0 && argc == 2)
        return store_user_delete(st, name) == 0 ? 0 : 1;
    usage(stderr);
    return 2;
}

int cmd_user(int argc, char **argv)
{
    char errbuf[512];
    int next, want_help, rc = 2;
    struct mf_config *cfg = app_config_from_args(argc, argv, &next, &want_help);
    struct store *st = NULL;

    if (!cfg)
        return 2;
    if (want_help || next >= argc) {
        usage(want_help ? stdout : stderr);
        rc = want_help ? 0 : 2;
        goto out;
    }
    if (app_config_apply_common(cfg) != 0)
        goto out;
    st = store_open(cfg, errbuf, sizeof(errbuf));
    if (!st) {
        fprintf(stderr, "meterflow user: store: %s\n", errbuf);
        rc = 1;
        goto out;
    }
    rc = do_cmd(st, argc - next, argv + next);
out:
    store_close(st);
    mf_config_free(cfg);
    return rc;
}
