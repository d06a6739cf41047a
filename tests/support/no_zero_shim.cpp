// A deliberately broken explicit_bzero for the residue test's negative control: preloaded with
// LD_PRELOAD, it turns every zeroing of the secure arena into a no-op, and the residue test must
// then find the secrets. It proves that the residue test depends on the zeroing it claims.
#include <cstddef>

extern "C" {
__attribute__((visibility("default"))) int sts_no_zero_shim_active = 1;
__attribute__((visibility("default"))) void explicit_bzero(void*, std::size_t) {}
// What explicit_bzero becomes under _FORTIFY_SOURCE.
__attribute__((visibility("default"))) void __explicit_bzero_chk(void*, std::size_t, std::size_t) {}
}
