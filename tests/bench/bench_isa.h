/* bench_isa: shared by the bench programs that run the network kernels.
 * Prints which kernel set ran, so every run records it, and rejects a
 * TTYPONG_KERN_ISA value the kernels could not honour, which would otherwise
 * measure another set than the one requested. */
#ifndef TTYPONG_BENCH_ISA_H
#define TTYPONG_BENCH_ISA_H

#include <stdio.h>
#include <stdlib.h>

#include "kern.h"

/* Prints "<prefix>_kernel_isa NAME -". Returns 0, or 2 after one error line
 * on stderr when TTYPONG_KERN_ISA names no set or one this CPU lacks. */
static inline int bench_isa_report(const char *prog, const char *prefix)
{
	enum kern_isa_request req = kern_isa_request_status();
	const char *requested = getenv("TTYPONG_KERN_ISA");

	if (req == KERN_REQUEST_UNKNOWN || req == KERN_REQUEST_UNSUPPORTED) {
		fprintf(stderr, "%s: TTYPONG_KERN_ISA=%s is %s; set it to c, avx2 or avx512 "
			"(one this CPU has) or unset it\n", prog, requested ? requested : "",
			req == KERN_REQUEST_UNKNOWN ? "not a kernel set" : "not supported here");
		return 2;
	}
	printf("%s_kernel_isa %s -\n", prefix, kern_isa_name(kern_isa()));
	return 0;
}

#endif
