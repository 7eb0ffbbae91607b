/* Which model a command uses when --model is not given: $VITRAIL_MODEL, else
 * the default model, looked up at run time in the source tree this binary was
 * built from and then in the installed data folder (paths fixed at build time,
 * as the presets' folder is). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

#ifndef VT_DEFAULT_MODEL_SRC
#define VT_DEFAULT_MODEL_SRC "assets/models/vitrail-shapes-64.safetensors"
#endif
#ifndef VT_DEFAULT_MODEL_DATA
#define VT_DEFAULT_MODEL_DATA "/usr/local/share/vitrail/models/vitrail-shapes-64.safetensors"
#endif

const char *cli_model_path(const char *given, int required) {
    if (given) return given;
    const char *env = getenv("VITRAIL_MODEL");
    if (env && *env) {
        if (access(env, R_OK) == 0) return env;
        if (required)
            fprintf(stderr, "%s: no model: pass --model FILE (the default model %s, from VITRAIL_MODEL, is not there)\n", prog,
                    env);
        return NULL;
    }
    const char *where[2] = {VT_DEFAULT_MODEL_SRC, VT_DEFAULT_MODEL_DATA};
    for (int i = 0; i < 2; i++)
        if (access(where[i], R_OK) == 0) return where[i];
    if (required)
        fprintf(stderr, "%s: no model: pass --model FILE (the default model %s is not there, nor %s)\n", prog, where[0],
                where[1]);
    return NULL;
}
