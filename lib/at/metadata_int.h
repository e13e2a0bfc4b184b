/*
 * lib/at/metadata_int.h - the field descriptor table shared by metadata.c
 * (wire options) and metadata_json.c (JSON). Private to lib/at.
 */
#ifndef AT_METADATA_INT_H
#define AT_METADATA_INT_H
#include <stddef.h>

#include "at/metadata.h"

enum at__md_kind { AT__MD_INT, AT__MD_BOOL, AT__MD_STR, AT__MD_DATE };

struct at__md_desc {
    const char *name; /* wire option and JSON member name */
    enum at__md_kind kind;
    size_t off; /* offset of the value in struct at_metadata */
    int wire;   /* accepted as a wire option */
};

/* Descriptor of field f (f < AT_MD__COUNT). */
const struct at__md_desc *at__md_desc(enum at_md_field f);

/* Typed access to a field's storage. */
#define AT__MD_I64(md, d)  ((int64_t *)((char *)(md) + (d)->off))
#define AT__MD_BOOL(md, d) ((bool *)((char *)(md) + (d)->off))
#define AT__MD_STR(md, d)  ((char **)((char *)(md) + (d)->off))

#endif
