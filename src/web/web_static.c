/* web_static.c -- the panel's files from [web] static_dir (built by scripts/web-build.sh).
 *
 * Only paths made of [A-Za-z0-9._/-] segments, none starting with '.', are served, so no
 * request can leave static_dir ("..", hidden files, encoded tricks are all refused before
 * any open). "/" and any extension-less path (the panel's own routes such as /terminals)
 * give index.html. Files go out as fd responses (no copy in memory).
 *
 * Thread: HTTP pool threads. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meterflow/common.h"
#include "web/web_int.h"

static const struct {
    const char *ext;
    const char *ctype;
} types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
};

/* 1 if path is a safe relative file path under the static directory. */
static int path_safe(const char *path)
{
    const char *s = path;
    if (*s != '/' || strlen(path) > 200)
        return 0;
    while (*s == '/') {
        s++;
        if (*s == '.' || *s == '/' ) /* hidden, "..", or an empty segment */
            return 0;
        while (*s && *s != '/') {
            char c = *s++;
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-'))
                return 0;
        }
    }
    return *s == '\0';
}

static const char *ctype_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return NULL;
    for (size_t i = 0; i < MF_ARRAY_LEN(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].ctype;
    return "application/octet-stream";
}

int web_static_get(struct web_req *req, const char *path)
{
    char full[768];
    struct stat st;
    const char *ctype;

    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (!path_safe(path) && strcmp(path, "/") != 0)
        return MF_ENOTFOUND;
    ctype = ctype_of(path);
    if (!ctype) { /* a panel route: the single page answers it */
        path = "/index.html";
        ctype = types[0].ctype;
    }
    if ((size_t)snprintf(full, sizeof(full), "%s%s", req->web->static_dir, path) >= sizeof(full))
        return MF_ENOTFOUND;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MF_ENOTFOUND;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return MF_ENOTFOUND;
    }
    req->static_fd = fd;
    req->static_size = st.st_size;
    req->ctype = ctype;
    return 0;
}
