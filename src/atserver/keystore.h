/*
 * src/atserver/keystore.h - the atServer's persistent key store and commit log
 * (one SQLite database file per hosted atSign; docs/internals/keystore.md).
 *
 * The store knows nothing about the atProtocol grammar: keys arrive already
 * normalised (lower-cased, spaces removed) and metadata is an opaque JSON text
 * the caller renders and parses. The store itself only understands the few
 * integer columns it needs: timestamps for visibility and expiry, a version
 * counter, and whether the key is written to the commit log.
 *
 * Central invariant: when a write function returns 0 the write is durable
 * (WAL, synchronous=FULL, one transaction per call), so the caller may
 * acknowledge it. A failed call changed nothing.
 *
 * Threading: a handle is used by one thread at a time (the event loop). Calls
 * block on disk I/O (an fsync per write).
 *
 * Errors (all functions): 0 or a negative NP_ERR_* code. SQLite results are
 * translated once, here:
 *   SQLITE_FULL (disk or page limit full), SQLITE_TOOBIG  -> NP_ERR_TOOBIG
 *   SQLITE_READONLY (file, directory or handle read-only) -> NP_ERR_PERM
 *   SQLITE_CANTOPEN, SQLITE_IOERR                         -> NP_ERR_IO
 *   SQLITE_BUSY, SQLITE_LOCKED (after the busy timeout)   -> NP_ERR_TIMEOUT
 *   SQLITE_NOMEM                                          -> NP_ERR_NOMEM
 *   anything else (corrupt file, schema from the future)  -> NP_ERR_DB
 * These are transient for the handle: once space returns (or the file becomes
 * writable) the next write succeeds on the same handle.
 */
#ifndef NP_ATSERVER_KEYSTORE_H
#define NP_ATSERVER_KEYSTORE_H
#include <stddef.h>
#include <stdint.h>

struct ks;

/* Longest key accepted, in bytes (the protocol limit is 255 characters; an
 * emoji takes up to 4 bytes). Longer keys are NP_ERR_TOOBIG. */
#define KS_KEY_MAX 1024

/* ks_open flags. */
#define KS_OPEN_READONLY 0x1u /* open for reading only; every write is NP_ERR_PERM */
/* synchronous=NORMAL instead of FULL: a write that returned 0 survives a
 * crash or SIGKILL of the server, but the last ones may be lost on a power
 * loss or kernel crash; in exchange no fsync per write (see keystore.md). */
#define KS_OPEN_SYNC_NORMAL 0x2u

/* Commit-log operation symbols (atprotocol.md 10.3). Passed as the `op`
 * argument of the write functions; KS_OP_NONE means "not logged". */
enum ks_op {
    KS_OP_NONE = 0,
    KS_OP_CREATE = '+', /* create without metadata */
    KS_OP_UPDATE = '*', /* create/overwrite with value (and metadata) */
    KS_OP_META = '#',   /* metadata only */
    KS_OP_DELETE = '-'  /* delete (also written by ks_expire) */
};

/* Times of one write, all in epoch milliseconds. 0 means "none". */
struct ks_times {
    int64_t now_ms;          /* time of the write: updated_at; created_at on create */
    int64_t available_at_ms; /* invisible before this (ttb); 0 = at once */
    int64_t expires_at_ms;   /* invisible after this (ttl); 0 = never */
    int64_t refresh_at_ms;   /* cache refresh due (ttr); 0 = none */
};

/* One stored key. Allocated by the store as a single block together with its
 * strings: free it with ks_entry_free (or with its ks_list). */
struct ks_entry {
    const char *key;
    const char *value;     /* NULL when stored as NULL or not loaded (KS_SCAN_KEYS_ONLY) */
    const char *meta_json; /* NULL when stored as NULL or not loaded */
    int64_t created_at_ms; /* first write; kept across updates */
    int64_t updated_at_ms;
    int64_t available_at_ms;
    int64_t expires_at_ms;
    int64_t refresh_at_ms;
    int64_t version; /* 0 on create, +1 on every later write */
    int logged;      /* 1 if writes of this key go to the commit log */
    int active;      /* 1 if now_ms of the read is in [available_at, expires_at] */
};

/* A result list: count entries, each freed with the list. */
struct ks_list {
    size_t count;
    struct ks_entry **items;
};

/* What a ks_put did. */
struct ks_put_result {
    int64_t commit_id;     /* new commit id, or -1 when op was KS_OP_NONE */
    int64_t version;       /* version after this write */
    int64_t created_at_ms; /* created_at after this write (kept from the first write) */
    int created;           /* 1 if the key did not exist before */
};

/* One commit-log entry. Allocated with its key in one block. */
struct ks_commit {
    int64_t id;
    const char *key;
    char op; /* one of '+', '*', '#', '-' */
    int64_t op_time_ms;
};

struct ks_commit_list {
    size_t count;
    struct ks_commit **items;
};

/* Key filter for scans and commit queries (e.g. a POSIX ERE the caller
 * compiled). Return 1 to include the key, 0 to leave it out. Called
 * synchronously before the listing function returns; must not call back into
 * the same handle. */
typedef int (*ks_match_fn)(const char *key, void *arg);

/*
 * Open (creating if needed) the store of `atsign` ("@alice" or "alice") in the
 * directory `dir` (created with mode 0700 if missing; the parent must exist).
 * The file is <dir>/<name>.db with mode 0600, where <name> is the atSign
 * without '@', ASCII-lower-cased, with every byte outside [a-z0-9_-]
 * percent-encoded (%F0%9F... for emoji); names longer than 120 characters are
 * cut and suffixed with "~<64-bit hash hex>". The atSign is recorded inside
 * the file and checked on every open (NP_ERR_EXISTS on mismatch).
 * flags: 0 or KS_OPEN_READONLY. On success *out owns the handle (ks_close).
 * Errors: NP_ERR_INVAL (empty/overlong atSign, bad dir), NP_ERR_NOMEM,
 * NP_ERR_IO/NP_ERR_PERM (cannot create/open), NP_ERR_DB (not our file, or a
 * newer schema).
 */
int ks_open(const char *dir, const char *atsign, unsigned flags, struct ks **out);

/* Finalize the cached statements and close the database. NULL is fine.
 * Entries and lists returned earlier are independent copies and stay valid. */
void ks_close(struct ks *ks);

/*
 * Create or overwrite `key` with `value` (NULL allowed) and `meta_json` (NULL
 * allowed), both copied. On create: created_at = t->now_ms, version 0; on
 * update: created_at kept, version + 1. The availability/expiry/refresh times
 * are replaced by those in *t (the caller merges old metadata first, using
 * ks_get). op: KS_OP_NONE (private:, privatekey:, local:, public:_ keys; the
 * entry is then not logged, and neither is its later expiry) or the commit op
 * symbol to log ('+', '*', '#'). res (may be NULL) receives the outcome.
 * Errors: NP_ERR_INVAL (NULL/empty key, bad op), NP_ERR_TOOBIG (key over
 * KS_KEY_MAX, disk full), NP_ERR_PERM (read-only), others as above.
 */
int ks_put(struct ks *ks, const char *key, const char *value, const char *meta_json,
           const struct ks_times *t, int op, struct ks_put_result *res);

/*
 * Read `key`. *out receives a new entry (ks_entry_free) whose `active` says
 * whether it is visible at now_ms; an inactive entry is still returned so the
 * caller can answer data:null. NP_ERR_NOTFOUND when absent.
 */
int ks_get(struct ks *ks, const char *key, int64_t now_ms, struct ks_entry **out);

void ks_entry_free(struct ks_entry *e);

/*
 * Delete `key`. Deleting an absent key succeeds. op: KS_OP_NONE or
 * KS_OP_DELETE; when logged a '-' entry at now_ms is written (also for an
 * absent key, as the reference server does) and its id stored in
 * *commit_id_out, else -1. *deleted_out (may be NULL) is 1 if a key was
 * removed.
 */
int ks_delete(struct ks *ks, const char *key, int op, int64_t now_ms, int64_t *commit_id_out,
              int *deleted_out);

/* ks_scan flags. */
#define KS_SCAN_KEYS_ONLY 0x1u /* do not load value and meta_json */
#define KS_SCAN_INACTIVE  0x2u /* also list keys not active at now_ms */

/*
 * List the keys active at now_ms (see flags) for which match (may be NULL =
 * all) returns 1, in byte-wise key order. *out receives a new list
 * (ks_list_free), possibly empty.
 */
int ks_scan(struct ks *ks, int64_t now_ms, unsigned flags, ks_match_fn match, void *arg,
            struct ks_list **out);

void ks_list_free(struct ks_list *l);

/* Number of stored keys (active or not). */
int ks_count(struct ks *ks, int64_t *out);

/*
 * The newest commit id, or -1 when there is none. With match (may be NULL):
 * the newest id of a matching key (stats:3 with a regex).
 */
int ks_last_commit_id(struct ks *ks, ks_match_fn match, void *arg, int64_t *out);

/*
 * Commit entries with id > after_id (-1 = from the start), oldest first, at
 * most `limit` (0 = no limit) of those whose key matches (match may be NULL).
 * The log keeps only the newest entry per key (compaction happens on every
 * write), so this is "what changed since after_id". *out: new list
 * (ks_commit_list_free).
 */
int ks_commits_since(struct ks *ks, int64_t after_id, size_t limit, ks_match_fn match, void *arg,
                     struct ks_commit_list **out);

void ks_commit_list_free(struct ks_commit_list *l);

/*
 * Delete up to `max` (0 = all) keys whose expires_at is set and < now_ms,
 * logging a '-' entry for each logged key, in one transaction. *count_out
 * (may be NULL) receives how many were deleted.
 */
int ks_expire(struct ks *ks, int64_t now_ms, size_t max, size_t *count_out);

/*
 * Rename `from` to `to` keeping value, metadata, times and version (used for
 * shared_key.bob -> shared_key.bob.until.<ms>). op KS_OP_NONE or
 * KS_OP_UPDATE: when logged, '-' is written for `from` (if it was logged) and
 * '*' for `to`, whose id goes to *commit_id_out (else -1).
 * Errors: NP_ERR_NOTFOUND (no `from`), NP_ERR_EXISTS (`to` exists).
 */
int ks_rename(struct ks *ks, const char *from, const char *to, int op, int64_t now_ms,
              int64_t *commit_id_out);

/*
 * The database file name (without directory) for an atSign, as ks_open uses
 * it. dst must hold at least KS_FILE_NAME_MAX bytes. NP_ERR_INVAL for an empty
 * or overlong (> 256 bytes) atSign.
 */
#define KS_FILE_NAME_MAX 160
int ks_file_name(const char *atsign, char *dst, size_t size);

#endif
