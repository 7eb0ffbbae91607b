// Shared helpers of the compute shaders: activations (the same formulas as the
// CPU backend's, so both backends round alike), the score sentinel, and the
// workgroup-count arithmetic used with grid-stride loops.
#ifndef VT_COMMON_GLSL
#define VT_COMMON_GLSL

// Activation codes, as vt_act in core/backend.h.
#define ACT_NONE 0u
#define ACT_GELU_TANH 1u
#define ACT_GELU_ERF 2u
#define ACT_SILU 3u

// A finite "minus infinity" for running maxima: Vulkan does not promise that
// infinities survive arithmetic unless the device reports float controls, so
// the attention shaders never create one. exp(NEG_BIG - real score) is 0.
#define NEG_BIG (-1.0e30)

// erf by Abramowitz & Stegun 7.1.26: absolute error below 1.5e-7, which after
// GELU's 0.5*x*(1 + erf) is below f32's rounding of the result's scale.
float vt_erf(float x) {
    float ax = abs(x);
    float t = 1.0 / (1.0 + 0.3275911 * ax);
    float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t *
                        exp(-ax * ax);
    return x < 0.0 ? -y : y;
}

float vt_act(float x, uint act) {
    if (act == ACT_GELU_TANH) {
        // tanh(u) = 1 - 2/(e^{2u} + 1): saturates cleanly (e^{2u} = inf gives 1),
        // where a driver's tanh may lose accuracy for large |u|
        float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        float th = 1.0 - 2.0 / (exp(2.0 * u) + 1.0);
        return 0.5 * x * (1.0 + th);
    }
    if (act == ACT_GELU_ERF) return 0.5 * x * (1.0 + vt_erf(x * 0.7071067811865476));
    if (act == ACT_SILU) return x / (1.0 + exp(-x));
    return x;
}

#endif
