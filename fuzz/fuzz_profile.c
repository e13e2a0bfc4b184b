/*
 * fuzz/fuzz_profile.c - sshnp config profiles (lib/np/profile.c) and the
 * client command line (lib/np/client_opts.c). Input: profile text. Properties:
 * no crash or leak; every entry of a parsed profile has a name of [a-z0-9-]
 * starting with a letter and a value without control bytes other than TAB;
 * line numbers increase. The same bytes, split at newlines, are then parsed
 * as sshnp and npt arguments (inputs naming --config-file are skipped so the
 * harness never reads files).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "np/client_opts.h"
#include "np/profile.h"
#include "util/alloc.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_profile(const uint8_t *data, size_t size)
{
    struct np_profile *p = NULL;
    char err[256];
    int last = 0;

    if (np_profile_parse((const char *)data, size, &p, err, sizeof(err)) != 0) {
        if (p || !err[0])
            abort(); /* errors leave no result and always say why */
        return;
    }
    for (size_t i = 0; i < np_profile_count(p); i++) {
        const struct np_profile_entry *e = np_profile_get(p, i);

        if (!e || e->line <= last || !(e->name[0] >= 'a' && e->name[0] <= 'z'))
            abort();
        last = e->line;
        for (const char *c = e->name; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
                abort();
        for (const char *c = e->value; *c; c++)
            if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
                abort();
    }
    np_profile_free(p);
}

static void check_args(const uint8_t *data, size_t size)
{
    char *text, *argv[64];
    int argc = 0;
    struct np_client_opts o;
    char err[256];

    if (size > 4096 || memmem(data, size, "config", 6))
        return;
    if ((text = np_memdup0(data, size)) == NULL)
        return;
    argv[argc++] = "prog";
    for (char *s = text; argc < 63;) {
        char *nl = strchr(s, '\n');

        argv[argc++] = s;
        if (!nl)
            break;
        *nl = '\0';
        s = nl + 1;
    }
    argv[argc] = NULL;
    for (int prog = NP_PROG_SSHNP; prog <= NP_PROG_NPT; prog++) {
        if (np_client_opts_parse(&o, prog, argc, argv, err, sizeof(err)) == 0 && !o.help &&
            !o.version && (!o.from || o.from[0] != '@' || !o.device || !o.key_file))
            abort(); /* a valid result is complete */
        np_client_opts_clear(&o);
    }
    np_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;

    if (!init) {
        np_log_set_level(NP_LOG_ERROR);
        setenv("HOME", "/nonexistent-fuzz-home", 1);
        init = 1;
    }
    check_profile(data, size);
    check_args(data, size);
    return 0;
}
