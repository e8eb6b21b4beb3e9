/* core/enum_names.c — the name lookup of enum-valued settings (see enum_names.h). */
#include "enum_names.h"

#include <string.h>

uae_status uae_enum_parse(const char *what, const char *const *names, int count, const char *name,
                          int *out) {
    UAE_ASSERT(what && names && count > 0 && name && out);
    for (int i = 0; i < count; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = i;
            return UAE_OK;
        }
    /* "a, b or c": the accepted names in the table's order. */
    char expected[256] = "";
    size_t len = 0;
    for (int i = 0; i < count && len < sizeof expected; i++) {
        const char *sep = i == 0 ? "" : i == count - 1 ? " or " : ", ";
        int n = snprintf(expected + len, sizeof expected - len, "%s%s", sep, names[i]);
        if (n < 0) break;
        len += (size_t)n;
    }
    return uae_fail(UAE_ERR_INVALID, "%s '%s': expected %s", what, name, expected);
}

const char *uae_enum_name(const char *const *names, int count, int value, const char *unknown) {
    return value >= 0 && value < count ? names[value] : unknown;
}
