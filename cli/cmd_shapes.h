/* The `vitrail shapes` command (cmd_shapes.c), kept out of main.c: it draws
 * the shapes world's images from the command line. */
#ifndef VT_CLI_CMD_SHAPES_H
#define VT_CLI_CMD_SHAPES_H

#include "vitrail.h"

extern const char vt_cli_shapes_usage[];

/* argv[0] is "shapes"; returns the process exit code (0, 1 runtime, 2 usage). */
int vt_cli_shapes(vt_context *ctx, int argc, char **argv);

#endif
