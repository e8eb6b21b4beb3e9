/* core/enum_names.h — names of enum values for settings that are chosen by name (an optimizer, an
 * attack method, a MINE estimator, ...): one lookup and one message for all of them. Internal to
 * the library (core/ and models/); the public parsers (uae_optimizer_parse, ...) are this call. */
#ifndef UAE_ENUM_NAMES_H
#define UAE_ENUM_NAMES_H

#include "uae/status.h"

/* Finds name in names[0..count) (a table indexed by the enum): *out = its index and UAE_OK. Else
 * UAE_ERR_INVALID with the message "<what> '<name>': expected a, b or c" (*out unchanged). */
uae_status uae_enum_parse(const char *what, const char *const *names, int count, const char *name,
                          int *out);

/* names[value] for 0 <= value < count, else `unknown`. */
const char *uae_enum_name(const char *const *names, int count, int value, const char *unknown);

#endif /* UAE_ENUM_NAMES_H */
