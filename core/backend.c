/* Backend-independent helpers of the backend interface. */
#include "backend.h"

void vt_backend_destroy(vt_backend **be) {
    if (!be || !*be) return;
    (*be)->iface->destroy(*be);
    *be = NULL;
}
