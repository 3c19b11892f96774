/* store_sqlite_vfs.c -- "mf-walbuf": a SQLite VFS shim that coalesces a transaction's WAL
 * writes into few large pwrite calls ([store] sqlite_wal_coalesce, on by default).
 *
 * Why: SQLite writes every WAL frame with two pwrite calls (the 24-byte frame header, then the
 * page), each crossing a page-cache folio boundary. The worker's batches touch about one leaf
 * page per report (the reading tables are keyed by terminal), so at 100,000 reports/s the
 * single writer thread made ~200,000 small pwrite calls a second; the kernel side of them was
 * a third of its CPU (docs/PERFORMANCE.md "End-to-end embedded").
 *
 * What: for files SQLite opens as a WAL (SQLITE_OPEN_WAL), writes that continue the previous
 * one are appended to a buffer of the file handle (WB_CAP) instead of being written; the
 * buffer goes to the file in one pwrite when a write does not continue it, when it is full,
 * before any other operation on the handle (read, sync, truncate, size, lock, file control,
 * close) and -- the durability rule -- right after the page of a commit frame. A commit
 * frame is the one whose 24-byte header carries a non-zero "database size after commit"
 * (bytes 4..7, the WAL format of sqlite.org/fileformat2.html#walformat); SQLite writes a
 * frame as header then page, so when the page following such a header is buffered, the
 * whole transaction is handed to the kernel before sqlite3_step(COMMIT) returns, as without
 * the shim. So a commit is exactly as durable as before (in the kernel's page cache at
 * synchronous=NORMAL: survives a process crash; fsynced at FULL, since xSync flushes
 * first). Readers on other connections read only frames below the WAL index's mxFrame,
 * which SQLite raises after the commit frame is written, i.e. after the flush. A write
 * error met while flushing is returned by the call that flushed; the transaction then fails
 * (nothing is confirmed) and the frames beyond mxFrame are ignored by SQLite's recovery.
 *
 * Every other file (database, shm through the database file's methods, journals) and every
 * other VFS method go straight to the default VFS ("unix"): the shim's sqlite3_vfs is a copy
 * of it with only xOpen and szOsFile changed, and the shim's file object carries the real
 * one right behind it.
 *
 * Thread: a file handle belongs to one connection, which SQLite serialises; the VFS is
 * registered once (pthread_once) before the first connection that asks for it. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define WB_NAME "mf-walbuf"
/* Buffer per WAL handle, allocated on the first write. Under 128 KiB: the unix VFS's
 * seekAndWriteFd masks a write's length to 17 bits (a 128 KiB write would write nothing and
 * read as "disk full"); 120 KiB holds 29 frames of 4 KiB pages. */
#define WB_CAP (120u * 1024u)
#define WB_FRAME_HDR 24        /* WAL frame header; the WAL header itself is 32 bytes */
#define WB_HDR_SIZE ((sizeof(struct wb_file) + 15u) / 16u * 16u) /* the real file follows */

struct wb_file {
    sqlite3_file base;   /* pMethods = &wb_io */
    sqlite3_file *real;  /* the default VFS's file object, right after this struct */
    int wal;             /* 1: writes are coalesced */
    int commit_pending;  /* a commit frame's header is buffered: flush after its page */
    unsigned char *buf;  /* owned: WB_CAP bytes or NULL */
    size_t len;          /* bytes buffered */
    sqlite3_int64 off;   /* file offset of buf[0] */
};

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *wb_real;
static int wb_ok;
static pthread_once_t wb_once = PTHREAD_ONCE_INIT;

#define REAL(f) (((struct wb_file *)(f))->real)

static int wb_flush(struct wb_file *f)
{
    int rc = SQLITE_OK;
    if (f->len) {
        rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
        f->len = 0; /* on failure the transaction fails: its frames are not needed again */
    }
    f->commit_pending = 0;
    return rc;
}

#define FLUSH_OR_RETURN(f)                                                                     \
    do {                                                                                       \
        int frc_ = wb_flush((struct wb_file *)(f));                                            \
        if (frc_ != SQLITE_OK)                                                                 \
            return frc_;                                                                       \
    } while (0)

static int wb_close(sqlite3_file *pf)
{
    struct wb_file *f = (struct wb_file *)pf;
    int frc = wb_flush(f);
    int rc = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return frc != SQLITE_OK ? frc : rc;
}

static int wb_read(sqlite3_file *pf, void *p, int n, sqlite3_int64 off)
{
    FLUSH_OR_RETURN(pf);
    return REAL(pf)->pMethods->xRead(REAL(pf), p, n, off);
}

/* Big-endian u32 at p. */
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int wb_write(sqlite3_file *pf, const void *p, int n, sqlite3_int64 off)
{
    struct wb_file *f = (struct wb_file *)pf;
    int commit_hdr = n == WB_FRAME_HDR && off >= 32 && be32((const unsigned char *)p + 4) != 0;
    int ends_commit = f->commit_pending;

    if (!f->wal || n <= 0)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    if (!f->buf && (f->buf = malloc(WB_CAP)) == NULL)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > WB_CAP)) {
        int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
        f->len = 0;
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)n > WB_CAP) { /* larger than any page: not a WAL frame write */
        int rc = f->real->pMethods->xWrite(f->real, p, n, off);
        f->commit_pending = 0;
        return rc;
    }
    if (f->len == 0)
        f->off = off;
    memcpy(f->buf + f->len, p, (size_t)n);
    f->len += (size_t)n;
    if (ends_commit) /* the page of a commit frame: the transaction goes to the kernel now */
        return wb_flush(f);
    f->commit_pending = commit_hdr;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    FLUSH_OR_RETURN(pf);
    return REAL(pf)->pMethods->xTruncate(REAL(pf), size);
}

static int wb_sync(sqlite3_file *pf, int flags)
{
    FLUSH_OR_RETURN(pf);
    return REAL(pf)->pMethods->xSync(REAL(pf), flags);
}

static int wb_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    FLUSH_OR_RETURN(pf);
    return REAL(pf)->pMethods->xFileSize(REAL(pf), size);
}

static int wb_lock(sqlite3_file *pf, int lk)
{
    FLUSH_OR_RETURN(pf);
    return REAL(pf)->pMethods->xLock(REAL(pf), lk);
}

static int wb_unlock(sqlite3_file *pf, int lk)
{
    FLUSH_OR_RETURN(pf);
    return REAL(pf)->pMethods->xUnlock(REAL(pf), lk);
}

static int wb_reserved(sqlite3_file *pf, int *out)
{
    return REAL(pf)->pMethods->xCheckReservedLock(REAL(pf), out);
}

static int wb_fcntl(sqlite3_file *pf, int op, void *arg)
{
    FLUSH_OR_RETURN(pf);
    return REAL(pf)->pMethods->xFileControl(REAL(pf), op, arg);
}

static int wb_sector(sqlite3_file *pf)
{
    return REAL(pf)->pMethods->xSectorSize(REAL(pf));
}

static int wb_devchar(sqlite3_file *pf)
{
    return REAL(pf)->pMethods->xDeviceCharacteristics(REAL(pf));
}

/* The shared-memory and mmap methods exist on the database file only (the WAL index lives
 * beside it); they are forwarded when the real file has them. */
static int wb_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **pp)
{
    const sqlite3_io_methods *m = REAL(pf)->pMethods;
    return m->iVersion >= 2 ? m->xShmMap(REAL(pf), pg, pgsz, extend, pp) : SQLITE_IOERR;
}

static int wb_shm_lock(sqlite3_file *pf, int off, int n, int flags)
{
    const sqlite3_io_methods *m = REAL(pf)->pMethods;
    return m->iVersion >= 2 ? m->xShmLock(REAL(pf), off, n, flags) : SQLITE_IOERR;
}

static void wb_shm_barrier(sqlite3_file *pf)
{
    const sqlite3_io_methods *m = REAL(pf)->pMethods;
    if (m->iVersion >= 2)
        m->xShmBarrier(REAL(pf));
}

static int wb_shm_unmap(sqlite3_file *pf, int del)
{
    const sqlite3_io_methods *m = REAL(pf)->pMethods;
    return m->iVersion >= 2 ? m->xShmUnmap(REAL(pf), del) : SQLITE_OK;
}

static int wb_fetch(sqlite3_file *pf, sqlite3_int64 off, int n, void **pp)
{
    const sqlite3_io_methods *m = REAL(pf)->pMethods;
    *pp = NULL;
    return m->iVersion >= 3 ? m->xFetch(REAL(pf), off, n, pp) : SQLITE_OK;
}

static int wb_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
    const sqlite3_io_methods *m = REAL(pf)->pMethods;
    return m->iVersion >= 3 ? m->xUnfetch(REAL(pf), off, p) : SQLITE_OK;
}

static const sqlite3_io_methods wb_io = {
    3,           wb_close,      wb_read,       wb_write,   wb_truncate,    wb_sync,
    wb_size,     wb_lock,       wb_unlock,     wb_reserved, wb_fcntl,      wb_sector,
    wb_devchar,  wb_shm_map,    wb_shm_lock,   wb_shm_barrier, wb_shm_unmap, wb_fetch,
    wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc;

    (void)vfs;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)((char *)f + WB_HDR_SIZE);
    rc = wb_real->xOpen(wb_real, name, f->real, flags, out);
    if (rc != SQLITE_OK || !f->real->pMethods) {
        if (f->real->pMethods) /* SQLite closes only files whose pMethods is set */
            f->real->pMethods->xClose(f->real);
        f->base.pMethods = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    f->wal = (flags & SQLITE_OPEN_WAL) != 0;
    f->base.pMethods = &wb_io;
    return SQLITE_OK;
}

static void wb_register(void)
{
    wb_real = sqlite3_vfs_find(NULL);
    if (!wb_real)
        return;
    wb_vfs = *wb_real; /* every method but xOpen is the default VFS's own */
    wb_vfs.pNext = NULL;
    wb_vfs.zName = WB_NAME;
    wb_vfs.szOsFile = (int)WB_HDR_SIZE + wb_real->szOsFile;
    wb_vfs.xOpen = wb_open;
    wb_ok = sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK;
}

const char *st_sqlite_walbuf_vfs(void)
{
    pthread_once(&wb_once, wb_register);
    return wb_ok ? WB_NAME : NULL;
}
