/* tests/fuzz/fuzz_config.c — libFuzzer target: a model configuration as JSON
 * (uae_model_config_from_json, the uae.config of a checkpoint), then the sizes a model would be
 * built from: a configuration that is accepted must give an input size within the limit. */
#include "fuzz_util.h"
#include "uae/checkpoint.h"
#include "uae/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = malloc(size + 1);
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    uae_model_config cfg;
    if (uae_model_config_from_json(json, &cfg) == UAE_OK) {
        int64_t d = (int64_t)cfg.channels * cfg.height * cfg.width;
        if (cfg.channels < 1 || cfg.height < 1 || cfg.width < 1 || d > UAE_MODEL_MAX_FEATURES)
            abort();
        char *back = uae_model_config_to_json(&cfg);
        free(back);
    }
    free(json);
    return 0;
}
