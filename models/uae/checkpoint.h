/* uae/checkpoint.h — a model's whole training state in one .safetensors file: its parameters, its
 * optimizer state and step count, its configuration and where the training run stands, so that a
 * run can be resumed bit for bit and a trained model can be evaluated, attacked or opened in
 * PyTorch / NumPy. Not here: the training loop itself (uae/train.h).
 *
 *     uae_checkpoint_info info = {.epoch = 3, .step = 1800, .seed = 1};
 *     UAE_TRY(uae_checkpoint_save("ae.safetensors", model, &info));       // atomic
 *
 *     uae_model *m;                                                      // later, elsewhere:
 *     UAE_TRY(uae_checkpoint_load_model("ae.safetensors", be, &m, &info));
 *
 * The file (see docs/models.md):
 *   - every parameter under its own name, in PyTorch's layout ("enc.weight" (out, in),
 *     "conv1.weight" (out, in, kh, kw), "conv1.bias" (out));
 *   - the optimizer state as "optim.state0.<name>" and "optim.state1.<name>" (Adam's m and v,
 *     RMSprop's v and zeros, Adadelta's v and u, SGD's momentum and zeros), same shapes;
 *   - training state a model keeps outside its parameter store as "optim.<model's name>" (the
 *     AAE's generator moments);
 *   - string metadata: uae.format, uae.version, uae.model (the preset), uae.config (the whole
 *     uae_model_config as JSON), uae.epoch, uae.step, uae.seed, uae.optimizer,
 *     uae.optimizer.step, uae.optimizer.steps (JSON of the other optimizers' step counts, if any),
 *     uae.epoch_step and uae.epoch_loss (a checkpoint written within an epoch), uae.run (the
 *     trainer's settings as JSON), and the io layer's uae.checksum.
 */
#ifndef UAE_CHECKPOINT_H
#define UAE_CHECKPOINT_H

#include "uae/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The value of the uae.format key; a file with another value is refused. */
#define UAE_CHECKPOINT_FORMAT "uaekit-checkpoint/1"

/* Room for the trainer's settings (uae.run): a JSON object as text. */
#define UAE_CHECKPOINT_RUN_MAX 4096

/* Where the training run stood when the checkpoint was written. Everything random in training is a
 * function of (seed, epoch) (the data order) or (seed, step) (dropout masks, noise), so these
 * numbers are the run's whole random state. */
typedef struct uae_checkpoint_info {
    int64_t epoch;                     /* epochs completed */
    int64_t step;                      /* training steps (batches) completed */
    int64_t epoch_step;                /* steps done in epoch `epoch + 1` (a checkpoint written
                                          within an epoch), else 0 */
    double epoch_loss;                 /* the sum of batch loss x batch size over those steps (so
                                          that the epoch's mean loss comes out the same) */
    uint64_t seed;                     /* the run's seed */
    char run[UAE_CHECKPOINT_RUN_MAX];  /* the trainer's settings, a JSON object; "" = none */
} uae_checkpoint_info;

/* Writes m's parameters, optimizer state and configuration with info to path, atomically (a crash
 * leaves the old file or the new one). info may be NULL (epoch, step and seed 0). Errors: those of
 * uae_safetensors_write, UAE_ERR_INVALID if info->run is not a JSON object. */
uae_status uae_checkpoint_save(const char *path, uae_model *m, const uae_checkpoint_info *info);

/* Reads only the metadata: the configuration (*cfg) and info (either may be NULL). The file is
 * fully validated (checksum included). */
uae_status uae_checkpoint_read_config(const char *path, uae_model_config *cfg,
                                      uae_checkpoint_info *info);

/* Loads the checkpoint into m, which must be the same preset with the same parameter names and
 * shapes (create it from uae_checkpoint_read_config's cfg). Every tensor is checked before any is
 * copied, so on failure m is unchanged. Errors name the tensor and both shapes: UAE_ERR_FORMAT for
 * a damaged file, a wrong checksum, a missing or unexpected tensor or another format version;
 * UAE_ERR_SHAPE for a shape mismatch; UAE_ERR_INVALID for another preset or optimizer. info may be
 * NULL. */
uae_status uae_checkpoint_load(const char *path, uae_model *m, uae_checkpoint_info *info);

/* Creates the model the checkpoint describes on be and loads it. The caller owns *out. */
uae_status uae_checkpoint_load_model(const char *path, uae_backend *be, uae_model **out,
                                     uae_checkpoint_info *info);

/* The configuration as a JSON object (every field, floats exact), as a string the caller frees
 * with free(); NULL when out of memory. */
char *uae_model_config_to_json(const uae_model_config *cfg);

/* Parses what uae_model_config_to_json wrote: the preset's defaults for the shape in the JSON,
 * then every field found. UAE_ERR_FORMAT naming the key for a malformed or unknown one. */
uae_status uae_model_config_from_json(const char *json, uae_model_config *cfg);

#ifdef __cplusplus
}
#endif
#endif /* UAE_CHECKPOINT_H */
