/* Compiles vitrail_stage.h as the first and only include: the plugin header
 * must be self-contained C11. */
#include "vitrail_stage.h"

int main(void) {
    vt_stage_desc d = {VT_STAGE_API_VERSION, "x", NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL};
    return d.api_version == VT_STAGE_API_VERSION ? 0 : 1;
}
