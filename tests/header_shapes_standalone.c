/* Compiles vitrail_shapes.h as the first and only include: the header the
 * trainer's world is described by must be self-contained C11. */
#include "vitrail_shapes.h"

int main(void) {
    vt_shapes_spec s = {0};
    vt_shapes_scene sc = {0};
    (void)sc;
    const char *(*name)(int) = vt_shapes_shape_name;
    (void)name;
    return s.n_groups + VT_SHAPES_CELLS - 9;
}
