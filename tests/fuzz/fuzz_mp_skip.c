/*
 * The bounded msgpack reader: skipping any value must stay inside the
 * buffer, take time linear in the input and never recurse; the typed
 * readers must agree with it on where a value ends.
 */
#include "fuzz.h"
#include "mp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlp_mp r, t;
	int err;

	mlp_mp_init(&r, data, size);
	while (r.p < r.end) {
		t = r;
		err = mlp_mp_skip(&r);
		fuzz_check_error(err);
		if (err < 0)
			break;
		if (r.p <= t.p || r.p > r.end)
			__builtin_trap();
		/* a scalar read by type ends where skip ended */
		switch (mlp_mp_peek(&t)) {
		case MLP_MP_NIL:
		case MLP_MP_BOOL:
		case MLP_MP_INT:
		case MLP_MP_FLOAT:
		case MLP_MP_STR: {
			struct mlp_value v;
			if (mlp_mp_read_value(&t, &v) == 0) {
				if (t.p != r.p)
					__builtin_trap();
				mlp_value_clear(&v);
			}
			break;
		}
		case MLP_MP_MAP:
		case MLP_MP_ARRAY: {
			uint32_t n;
			int is_map = mlp_mp_peek(&t) == MLP_MP_MAP;
			if ((is_map ? mlp_mp_read_map(&t, &n) : mlp_mp_read_array(&t, &n)) < 0)
				__builtin_trap();	/* skip accepted it */
			break;
		}
		default:
			break;
		}
	}
	return 0;
}
