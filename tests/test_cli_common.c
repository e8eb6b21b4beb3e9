/* tests/test_cli_common.c — the value parsers and byte formatting of apps/cli_common.c, which every
 * command uses for its options. (The options themselves are tested through the binary in
 * test_cli.sh.) Rejections print a message on stderr; that is expected here. */
#include <stdio.h>
#include <string.h>

#include "apps/cli.h"
#include "tests/test_util.h"

static const cli_command test_cmd = {.name = "test", .summary = "", .usage = "", .help = ""};

int main(void) {
    long long i = -7;
    CHECK(cli_parse_int(&test_cmd, "--n", "42", 1, 100, &i) == CLI_EXIT_OK && i == 42);
    CHECK(cli_parse_int(&test_cmd, "--n", "-3", -5, 5, &i) == CLI_EXIT_OK && i == -3);
    CHECK(cli_parse_int(&test_cmd, "--n", "1", 1, 1, &i) == CLI_EXIT_OK && i == 1);
    i = -7;
    CHECK(cli_parse_int(&test_cmd, "--n", "0", 1, 100, &i) == CLI_EXIT_USAGE && i == -7);
    CHECK(cli_parse_int(&test_cmd, "--n", "101", 1, 100, &i) == CLI_EXIT_USAGE);
    CHECK(cli_parse_int(&test_cmd, "--n", "abc", 1, 100, &i) == CLI_EXIT_USAGE);
    CHECK(cli_parse_int(&test_cmd, "--n", "12x", 1, 100, &i) == CLI_EXIT_USAGE);
    CHECK(cli_parse_int(&test_cmd, "--n", "", 1, 100, &i) == CLI_EXIT_USAGE);
    CHECK(cli_parse_int(&test_cmd, "--n", "99999999999999999999", 0, 100, &i) == CLI_EXIT_USAGE);
    CHECK(i == -7);

    uint64_t u = 5;
    CHECK(cli_parse_u64(&test_cmd, "--seed", "0", &u) == CLI_EXIT_OK && u == 0);
    CHECK(cli_parse_u64(&test_cmd, "--seed", "18446744073709551615", &u) == CLI_EXIT_OK &&
          u == UINT64_MAX);
    u = 5;
    CHECK(cli_parse_u64(&test_cmd, "--seed", "18446744073709551616", &u) == CLI_EXIT_USAGE);
    CHECK(cli_parse_u64(&test_cmd, "--seed", "-1", &u) == CLI_EXIT_USAGE);
    CHECK(cli_parse_u64(&test_cmd, "--seed", " 1", &u) == CLI_EXIT_USAGE);
    CHECK(cli_parse_u64(&test_cmd, "--seed", "1.5", &u) == CLI_EXIT_USAGE);
    CHECK(u == 5);

    double d = -1;
    CHECK(cli_parse_float(&test_cmd, "--lr", "0.001", 0, 1, &d) == CLI_EXIT_OK && d == 0.001);
    CHECK(cli_parse_float(&test_cmd, "--lr", "1e-3", 0, 1, &d) == CLI_EXIT_OK && d == 1e-3);
    d = -1;
    CHECK(cli_parse_float(&test_cmd, "--lr", "2", 0, 1, &d) == CLI_EXIT_USAGE && d == -1);
    CHECK(cli_parse_float(&test_cmd, "--lr", "nan", 0, 1, &d) == CLI_EXIT_USAGE);
    CHECK(cli_parse_float(&test_cmd, "--lr", "inf", 0, 1e9, &d) == CLI_EXIT_USAGE);
    CHECK(cli_parse_float(&test_cmd, "--lr", "0.1x", 0, 1, &d) == CLI_EXIT_USAGE);
    CHECK(cli_parse_float(&test_cmd, "--lr", "", 0, 1, &d) == CLI_EXIT_USAGE);

    char b[32];
    CHECK(strcmp(cli_format_bytes(0, b, sizeof b), "0 B") == 0);
    CHECK(strcmp(cli_format_bytes(1023, b, sizeof b), "1023 B") == 0);
    CHECK(strcmp(cli_format_bytes(1024, b, sizeof b), "1.0 KiB") == 0);
    CHECK(strcmp(cli_format_bytes(32768, b, sizeof b), "32 KiB") == 0);
    CHECK(strcmp(cli_format_bytes(8160437862ull, b, sizeof b), "7.6 GiB") == 0);
    CHECK(strcmp(cli_format_bytes(150ull << 30, b, sizeof b), "150 GiB") == 0);

    if (failures) {
        fprintf(stderr, "test_cli_common: %d check(s) failed\n", failures);
        return 1;
    }
    puts("test_cli_common: ok");
    return 0;
}
