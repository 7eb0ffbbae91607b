/* Compiles vitrail.h as the first and only include: the public header must be
 * self-contained C11. */
#include "vitrail.h"

int main(void) {
    vt_context_params (*f)(void) = vt_context_default_params;
    (void)f;
    return VT_OK;
}
