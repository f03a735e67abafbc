/* Where a parse error is: file, line, column and what is wrong.  Filled by
 * the YAML front end, the `when` parser and the rule and profile loaders;
 * printed once by the program layer as "file:line:col: message". */
#ifndef TCPTUNE_ADVISOR_DIAG_H
#define TCPTUNE_ADVISOR_DIAG_H

struct diag {
	char file[256];		/* as shown to the user */
	unsigned line, col;	/* 1-based; 0 when not known */
	char msg[256];
};

/* Fill d (any of file may be NULL to keep what is there) and return r. */
int diag_set(struct diag *d, int r, const char *file, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#ifdef __clang_analyzer__
/* The static analyzer (make lint) never looks inside a variadic function, so
 * it would take `return diag_set(d, -EINVAL, ...)` for a possible success
 * and follow impossible paths.  Tell it that the result is r.  Analysis
 * only: the program calls diag_set() itself. */
static inline int diag_analyzer_result(int ignored, int r)
{
	(void) ignored;
	return r;
}
#define diag_set(d, r, ...) diag_analyzer_result(diag_set((d), (r), __VA_ARGS__), (r))
#endif

#endif
