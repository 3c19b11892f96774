/* web_cmd.c -- GET /api/commands (list, newest first, filters terminal/state) and
 * GET /api/commands/{id} (status, attempts and the answer once the worker stored it). The
 * panel polls the latter for live status. Creation is in web_cmd_new.c.
 *
 * Thread: HTTP pool threads. */
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/store.h"
#include "web/web_int.h"

int web_h_commands(struct web_req *req)
{
    struct store_command_filter f = { 0 };
    char tbuf[10];
    const char *t = web_arg(req, "terminal"), *state = web_arg(req, "state");
    int64_t page, size;
    json_t *out = NULL;
    int rc;

    if ((rc = web_page(req, &page, &size)) != 0)
        return rc;
    if (t && *t) {
        if (web_terminal_parse(t, tbuf) != 0)
            return web_error(req, 400, "terminal: RRRR-TTTT expected");
        f.terminal = tbuf;
    }
    if (state && *state) {
        if (store_cmd_state_parse(state) < 0)
            return web_error(req, 400, "state: queued, sent, answered, failed, timeout or expired");
        f.state = state;
    }
    f.pg.page = (int)page;
    f.pg.page_size = (int)size;
    rc = store_commands_json(req->st, &f, &out);
    if (rc != 0)
        return web_store_error(req, rc, "commands");
    return web_reply(req, 200, out);
}

int web_h_command(struct web_req *req)
{
    int64_t id;
    json_t *out = NULL;

    if (web_int_parse(req->params[0], 1, INT64_MAX, &id) != 0)
        return web_error(req, 400, "command id (a positive integer) expected in the path");
    int rc = store_command_json(req->st, id, &out);
    if (rc != 0)
        return web_store_error(req, rc, "command");
    return web_reply(req, 200, out);
}
