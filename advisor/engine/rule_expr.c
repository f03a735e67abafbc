/* The `when` language: tokenizer, recursive-descent parser with static
 * types, evaluator.  See rule_expr.h for the contract.
 *
 *   expr    := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | cmp
 *   cmp     := sum (("=="|"!="|"<"|"<="|">"|">=") sum)?
 *   sum     := term (("+"|"-") term)*
 *   term    := unary (("*"|"/"|"%") unary)*
 *   unary   := "-" unary | primary
 *   primary := INT | STRING | FACT | "exists" "(" FACT ")"
 *            | "kernel_at_least" "(" STRING ")" | "(" expr ")"
 */
#include "rule_expr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"

#define MAX_DEPTH 64

enum vtype { T_INT, T_STR, T_BOOL };

enum kind { N_INT, N_STR, N_FACT, N_EXISTS, N_KERNEL, N_NEG, N_NOT, N_BIN };

enum op {
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_AND, OP_OR,
};

struct rule_expr {
	enum kind kind;
	enum vtype type;
	enum op op;
	int64_t i;		/* N_INT value, N_KERNEL version code */
	char *s;		/* N_STR */
	size_t fact;		/* N_FACT, N_EXISTS */
	struct rule_expr *l, *r;
	unsigned line, col;
};

enum tok {
	TK_END, TK_INT, TK_STR, TK_IDENT, TK_LPAREN, TK_RPAREN,
	TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_PERCENT,
	TK_EQ, TK_NE, TK_LT, TK_LE, TK_GT, TK_GE,
};

struct parser {
	const char *src;
	size_t pos;
	unsigned line, col;		/* of src[pos] */
	/* current token */
	enum tok tok;
	size_t tstart, tlen;
	unsigned tline, tcol;
	int64_t tint;
	char *tstr;			/* TK_STR, owned */
	int depth;
	struct diag *d;
};

static const char *const op_names[] = {
	"+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or",
};

static void perr_msg(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr_msg(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (p->d) {
		p->d->line = line;
		p->d->col = col;
		va_start(ap, fmt);
		vsnprintf(p->d->msg, sizeof(p->d->msg), fmt, ap);
		va_end(ap);
	}
}

/* Record a parse error at line:col; the expression is worth -EINVAL.  A
 * macro rather than a function returning it, so that every caller (and the
 * static analyzer, which does not look into variadic functions) sees that a
 * parse error is never a success. */
#define perr(p, line, col, ...) (perr_msg((p), (line), (col), __VA_ARGS__), -EINVAL)

static void advance(struct parser *p, size_t n)
{
	for (size_t k = 0; k < n && p->src[p->pos]; k++) {
		if (p->src[p->pos] == '\n') {
			p->line++;
			p->col = 1;
		} else
			p->col++;
		p->pos++;
	}
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static int lex_string(struct parser *p)
{
	char quote = p->src[p->pos];
	size_t cap = 16, n = 0;
	char *out = malloc(cap);

	if (!out)
		return -ENOMEM;
	advance(p, 1);
	for (;;) {
		char c = p->src[p->pos];

		if (c == '\0' || c == '\n') {
			free(out);
			return perr(p, p->tline, p->tcol, "unterminated string");
		}
		if (c == quote) {
			advance(p, 1);
			break;
		}
		if (c == '\\') {
			char e = p->src[p->pos + 1];
			if (e != '\\' && e != '"' && e != '\'') {
				free(out);
				return perr(p, p->line, p->col, "unknown escape in string (only \\\\, \\\" and \\' exist)");
			}
			c = e;
			advance(p, 1);
		}
		if (n + 2 > cap) {
			char *nout = realloc(out, cap *= 2);
			if (!nout) {
				free(out);
				return -ENOMEM;
			}
			out = nout;
		}
		out[n++] = c;
		advance(p, 1);
	}
	out[n] = '\0';
	p->tstr = out;
	p->tok = TK_STR;
	return 0;
}

/* Read the next token into p. */
static int next(struct parser *p)
{
	static const struct { const char *text; enum tok tok; } ops[] = {
		{ "==", TK_EQ }, { "!=", TK_NE }, { "<=", TK_LE }, { ">=", TK_GE },
		{ "<", TK_LT }, { ">", TK_GT }, { "+", TK_PLUS }, { "-", TK_MINUS },
		{ "*", TK_STAR }, { "/", TK_SLASH }, { "%", TK_PERCENT },
		{ "(", TK_LPAREN }, { ")", TK_RPAREN },
	};
	const char *s;
	char c;

	free(p->tstr);
	p->tstr = NULL;
	while (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' || p->src[p->pos] == '\n' ||
	       p->src[p->pos] == '\r')
		advance(p, 1);
	p->tstart = p->pos;
	p->tline = p->line;
	p->tcol = p->col;
	s = p->src + p->pos;
	c = *s;
	if (c == '\0') {
		p->tok = TK_END;
		p->tlen = 0;
		return 0;
	}
	if (c >= '0' && c <= '9') {
		int64_t v = 0;
		size_t n = 0;

		while (s[n] >= '0' && s[n] <= '9') {
			if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[n] - '0', &v))
				return perr(p, p->tline, p->tcol, "number too large");
			n++;
		}
		if (is_ident_char(s[n]))
			return perr(p, p->tline, p->tcol + (unsigned) n, "unexpected '%c' after a number", s[n]);
		p->tok = TK_INT;
		p->tint = v;
		p->tlen = n;
		advance(p, n);
		return 0;
	}
	if (is_ident_start(c)) {
		size_t n = 0;

		while (is_ident_char(s[n]))
			n++;
		p->tok = TK_IDENT;
		p->tlen = n;
		advance(p, n);
		return 0;
	}
	if (c == '"' || c == '\'')
		return lex_string(p);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		size_t n = strlen(ops[k].text);
		if (strncmp(s, ops[k].text, n) == 0) {
			p->tok = ops[k].tok;
			p->tlen = n;
			advance(p, n);
			return 0;
		}
	}
	if (c == '=')
		return perr(p, p->tline, p->tcol, "unexpected '=': compare with '=='");
	if (c == '&' || c == '|' || c == '!')
		return perr(p, p->tline, p->tcol, "unexpected '%c': use 'and', 'or', 'not'", c);
	if ((unsigned char) c < 0x20 || (unsigned char) c >= 0x7f)
		return perr(p, p->tline, p->tcol, "unexpected byte 0x%02x", (unsigned char) c);
	return perr(p, p->tline, p->tcol, "unexpected '%c'", c);
}

static bool tok_is_word(const struct parser *p, const char *w)
{
	return p->tok == TK_IDENT && p->tlen == strlen(w) && strncmp(p->src + p->tstart, w, p->tlen) == 0;
}

static struct rule_expr *node(enum kind k, enum vtype t, unsigned line, unsigned col)
{
	struct rule_expr *e = calloc(1, sizeof(*e));

	if (e) {
		e->kind = k;
		e->type = t;
		e->line = line;
		e->col = col;
	}
	return e;
}

struct rule_expr *rule_expr_free(struct rule_expr *e)
{
	if (!e)
		return NULL;
	rule_expr_free(e->l);
	rule_expr_free(e->r);
	free(e->s);
	free(e);
	return NULL;
}

static const char *type_name(enum vtype t)
{
	return t == T_INT ? "a number" : t == T_STR ? "a string" : "a condition";
}

static int parse_or(struct parser *p, struct rule_expr **ret);

static int expect_fact_name(struct parser *p, size_t *ret)
{
	char name[128];
	int id;

	if (p->tok != TK_IDENT)
		return perr(p, p->tline, p->tcol, "expected a fact name");
	if (p->tlen >= sizeof(name))
		return perr(p, p->tline, p->tcol, "fact name too long");
	memcpy(name, p->src + p->tstart, p->tlen);
	name[p->tlen] = '\0';
	id = fact_lookup(name);
	if (id < 0)
		return perr(p, p->tline, p->tcol, "unknown fact '%s'", name);
	*ret = (size_t) id;
	return 0;
}

/* "major.minor[.patch]", each part 0 to 255 in decimal, into the value of
 * the kernel.version fact (major * 65536 + minor * 256 + patch). */
static int parse_kernel_version(const char *s, int64_t *ret)
{
	int64_t part[3] = { 0, 0, 0 };
	size_t n = 0;
	bool digits = false;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			part[n] = part[n] * 10 + (*s - '0');
			if (part[n] > 255)
				return -ERANGE;
			digits = true;
		} else if (*s == '.' && digits && n < 2) {
			n++;
			digits = false;
		} else
			return -EINVAL;
	}
	if (n == 0 || !digits)
		return -EINVAL;
	*ret = part[0] * 65536 + part[1] * 256 + part[2];
	return 0;
}

static int parse_call(struct parser *p, bool is_exists, struct rule_expr **ret)
{
	unsigned line = p->tline, col = p->tcol;
	struct rule_expr *e;
	int r;

	r = next(p);
	if (r < 0)
		return r;
	if (p->tok != TK_LPAREN)
		return perr(p, p->tline, p->tcol, "expected '(' after '%s'", is_exists ? "exists" : "kernel_at_least");
	r = next(p);
	if (r < 0)
		return r;
	e = node(is_exists ? N_EXISTS : N_KERNEL, T_BOOL, line, col);
	if (!e)
		return -ENOMEM;
	if (is_exists) {
		r = expect_fact_name(p, &e->fact);
	} else if (p->tok != TK_STR) {
		r = perr(p, p->tline, p->tcol, "kernel_at_least needs a version string like \"4.12\"");
	} else if (parse_kernel_version(p->tstr, &e->i) < 0) {
		r = perr(p, p->tline, p->tcol, "bad kernel version \"%s\": use \"major.minor[.patch]\"", p->tstr);
	}
	if (r == 0)
		r = next(p);
	if (r == 0 && p->tok != TK_RPAREN)
		r = perr(p, p->tline, p->tcol, "expected ')'");
	if (r == 0)
		r = next(p);
	if (r < 0) {
		rule_expr_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

static int parse_primary(struct parser *p, struct rule_expr **ret)
{
	struct rule_expr *e;
	int r;

	switch (p->tok) {
	case TK_INT:
		e = node(N_INT, T_INT, p->tline, p->tcol);
		if (!e)
			return -ENOMEM;
		e->i = p->tint;
		*ret = e;
		return next(p) < 0 ? (rule_expr_free(e), -EINVAL) : 0;
	case TK_STR:
		e = node(N_STR, T_STR, p->tline, p->tcol);
		if (!e)
			return -ENOMEM;
		e->s = p->tstr;
		p->tstr = NULL;
		*ret = e;
		return next(p) < 0 ? (*ret = rule_expr_free(e), -EINVAL) : 0;
	case TK_LPAREN:
		r = next(p);
		if (r == 0)
			r = parse_or(p, &e);
		if (r != 0)
			return r;
		if (p->tok != TK_RPAREN) {
			rule_expr_free(e);
			return perr(p, p->tline, p->tcol, "expected ')'");
		}
		*ret = e;
		return next(p) < 0 ? (*ret = rule_expr_free(e), -EINVAL) : 0;
	case TK_IDENT:
		if (tok_is_word(p, "exists"))
			return parse_call(p, true, ret);
		if (tok_is_word(p, "kernel_at_least"))
			return parse_call(p, false, ret);
		if (tok_is_word(p, "and") || tok_is_word(p, "or") || tok_is_word(p, "not"))
			return perr(p, p->tline, p->tcol, "expected a value before '%.*s'", (int) p->tlen,
				    p->src + p->tstart);
		e = node(N_FACT, T_INT, p->tline, p->tcol);
		if (!e)
			return -ENOMEM;
		r = expect_fact_name(p, &e->fact);
		if (r == 0) {
			e->type = fact_def(e->fact)->type == FT_STR ? T_STR : T_INT;
			r = next(p);
		}
		if (r < 0) {
			rule_expr_free(e);
			return r;
		}
		*ret = e;
		return 0;
	case TK_END:
		return perr(p, p->tline, p->tcol, "unexpected end of expression");
	default:
		return perr(p, p->tline, p->tcol, "expected a value, got '%.*s'", (int) p->tlen, p->src + p->tstart);
	}
}

static int enter(struct parser *p)
{
	if (++p->depth > MAX_DEPTH)
		return perr(p, p->tline, p->tcol, "expression nested too deeply");
	return 0;
}

static int parse_unary(struct parser *p, struct rule_expr **ret)
{
	struct rule_expr *e, *sub;
	unsigned line = p->tline, col = p->tcol;
	int r;

	if (p->tok != TK_MINUS)
		return parse_primary(p, ret);
	r = enter(p);
	if (r == 0)
		r = next(p);
	if (r == 0)
		r = parse_unary(p, &sub);
	p->depth--;
	if (r != 0)
		return r;
	if (sub->type != T_INT) {
		rule_expr_free(sub);
		return perr(p, line, col, "'-' needs a number");
	}
	e = node(N_NEG, T_INT, line, col);
	if (!e) {
		rule_expr_free(sub);
		return -ENOMEM;
	}
	e->l = sub;
	*ret = e;
	return 0;
}

/* Combine l op r after checking operand types; takes ownership of both. */
static int binary(struct parser *p, enum op op, unsigned line, unsigned col, struct rule_expr *l,
		  struct rule_expr *r, struct rule_expr **ret)
{
	enum vtype want, result;
	struct rule_expr *e;

	switch (op) {
	case OP_AND: case OP_OR:
		want = T_BOOL; result = T_BOOL; break;
	case OP_EQ: case OP_NE:
		want = l->type; result = T_BOOL; break;
	case OP_LT: case OP_LE: case OP_GT: case OP_GE:
		want = T_INT; result = T_BOOL; break;
	default:
		want = T_INT; result = T_INT; break;
	}
	if (want == T_BOOL && (op == OP_EQ || op == OP_NE)) {
		rule_expr_free(l);
		rule_expr_free(r);
		return perr(p, line, col, "'%s' compares numbers or strings, not conditions", op_names[op]);
	}
	if (l->type != want || r->type != want) {
		const struct rule_expr *bad = l->type != want ? l : r;
		int rr = perr(p, bad->line, bad->col, "'%s' needs %s on both sides, this is %s", op_names[op],
			      type_name(want), type_name(bad->type));
		rule_expr_free(l);
		rule_expr_free(r);
		return rr;
	}
	e = node(N_BIN, result, line, col);
	if (!e) {
		rule_expr_free(l);
		rule_expr_free(r);
		return -ENOMEM;
	}
	e->op = op;
	e->l = l;
	e->r = r;
	*ret = e;
	return 0;
}

typedef int (*parse_fn)(struct parser *p, struct rule_expr **ret);

/* Does the current token continue a left-associative level?  Sets *op. */
static bool match_term(const struct parser *p, enum op *op)
{
	switch (p->tok) {
	case TK_STAR:    *op = OP_MUL; return true;
	case TK_SLASH:   *op = OP_DIV; return true;
	case TK_PERCENT: *op = OP_MOD; return true;
	default:         return false;
	}
}

static bool match_sum(const struct parser *p, enum op *op)
{
	switch (p->tok) {
	case TK_PLUS:  *op = OP_ADD; return true;
	case TK_MINUS: *op = OP_SUB; return true;
	default:       return false;
	}
}

static bool match_and(const struct parser *p, enum op *op)
{
	*op = OP_AND;
	return tok_is_word(p, "and");
}

static bool match_or(const struct parser *p, enum op *op)
{
	*op = OP_OR;
	return tok_is_word(p, "or");
}

/* operand (op operand)*, left associative. */
static int parse_left(struct parser *p, parse_fn operand, bool (*match)(const struct parser *, enum op *),
		      struct rule_expr **ret)
{
	struct rule_expr *l, *r;
	enum op op;
	int rc = operand(p, &l);

	while (rc == 0 && match(p, &op)) {
		unsigned line = p->tline, col = p->tcol;

		rc = next(p);
		if (rc == 0)
			rc = operand(p, &r);
		if (rc != 0) {
			rule_expr_free(l);
			return rc;
		}
		rc = binary(p, op, line, col, l, r, &l);
	}
	if (rc == 0)
		*ret = l;
	return rc;
}

static int parse_term(struct parser *p, struct rule_expr **ret)
{
	return parse_left(p, parse_unary, match_term, ret);
}

static int parse_sum(struct parser *p, struct rule_expr **ret)
{
	return parse_left(p, parse_term, match_sum, ret);
}

static bool cmp_op(enum tok t, enum op *op)
{
	switch (t) {
	case TK_EQ: *op = OP_EQ; return true;
	case TK_NE: *op = OP_NE; return true;
	case TK_LT: *op = OP_LT; return true;
	case TK_LE: *op = OP_LE; return true;
	case TK_GT: *op = OP_GT; return true;
	case TK_GE: *op = OP_GE; return true;
	default: return false;
	}
}

static int parse_cmp(struct parser *p, struct rule_expr **ret)
{
	struct rule_expr *l, *r;
	enum op op;
	unsigned line, col;
	int rc = parse_sum(p, &l);

	if (rc < 0 || !cmp_op(p->tok, &op)) {
		if (rc == 0)
			*ret = l;
		return rc;
	}
	line = p->tline;
	col = p->tcol;
	rc = next(p);
	if (rc == 0)
		rc = parse_sum(p, &r);
	if (rc != 0) {
		rule_expr_free(l);
		return rc;
	}
	rc = binary(p, op, line, col, l, r, &l);
	if (rc == 0 && cmp_op(p->tok, &op)) {
		rule_expr_free(l);
		return perr(p, p->tline, p->tcol, "comparisons do not chain: use 'and'");
	}
	if (rc == 0)
		*ret = l;
	return rc;
}

static int parse_not(struct parser *p, struct rule_expr **ret)
{
	struct rule_expr *e, *sub;
	unsigned line = p->tline, col = p->tcol;
	int r;

	if (!tok_is_word(p, "not"))
		return parse_cmp(p, ret);
	r = enter(p);
	if (r == 0)
		r = next(p);
	if (r == 0)
		r = parse_not(p, &sub);
	p->depth--;
	if (r != 0)
		return r;
	if (sub->type != T_BOOL) {
		r = perr(p, sub->line, sub->col, "'not' needs a condition, this is %s", type_name(sub->type));
		rule_expr_free(sub);
		return r;
	}
	e = node(N_NOT, T_BOOL, line, col);
	if (!e) {
		rule_expr_free(sub);
		return -ENOMEM;
	}
	e->l = sub;
	*ret = e;
	return 0;
}

static int parse_and(struct parser *p, struct rule_expr **ret)
{
	return parse_left(p, parse_not, match_and, ret);
}

static int parse_or(struct parser *p, struct rule_expr **ret)
{
	int rc = enter(p);

	if (rc == 0)
		rc = parse_left(p, parse_and, match_or, ret);
	p->depth--;
	return rc;
}

int rule_expr_parse(const char *src, unsigned line, unsigned col, struct rule_expr **ret, struct diag *d)
{
	struct parser p = { .src = src, .line = line ? line : 1, .col = col ? col : 1, .d = d };
	struct rule_expr *e = NULL;
	int r;

	r = next(&p);
	if (r == 0)
		r = parse_or(&p, &e);
	if (r == 0 && p.tok != TK_END) {
		r = perr(&p, p.tline, p.tcol, "unexpected '%.*s' after the expression", (int) p.tlen, src + p.tstart);
		e = rule_expr_free(e);
	}
	if (r == 0 && e->type != T_BOOL) {
		r = perr(&p, e->line, e->col, "a condition is needed, this is %s (compare it, e.g. '> 0')",
			 type_name(e->type));
		e = rule_expr_free(e);
	}
	free(p.tstr);
	if (r < 0)
		return r;
	*ret = e;
	return 0;
}

/* Evaluation.  A value is present or missing; comparisons with a missing
 * operand are false, arithmetic with one is missing. */
struct val {
	bool present;
	int64_t i;
	const char *s;
	bool b;
};

struct evaluator {
	expr_lookup_fn lookup;
	void *ctx;
	char *err;
	size_t errlen;
};

static int eval_err(struct evaluator *ev, const struct rule_expr *e, int r, const char *what)
{
	if (ev->err && ev->errlen)
		snprintf(ev->err, ev->errlen, "%s at line %u, column %u", what, e->line, e->col);
	return r;
}

static int eval(struct evaluator *ev, const struct rule_expr *e, struct val *v);

static int eval_bin(struct evaluator *ev, const struct rule_expr *e, struct val *v)
{
	struct val a, b;
	int r;

	r = eval(ev, e->l, &a);
	if (r < 0)
		return r;
	/* and/or short-circuit, so a guard like "x > 0 and y / x > 2" is safe */
	if (e->op == OP_AND && !a.b) {
		*v = (struct val) { .present = true, .b = false };
		return 0;
	}
	if (e->op == OP_OR && a.b) {
		*v = (struct val) { .present = true, .b = true };
		return 0;
	}
	r = eval(ev, e->r, &b);
	if (r < 0)
		return r;
	if (e->op == OP_AND || e->op == OP_OR) {
		*v = (struct val) { .present = true, .b = b.b };
		return 0;
	}
	if (e->type == T_BOOL) {	/* a comparison */
		bool res = false;

		if (a.present && b.present) {
			int c;

			if (e->l->type == T_STR)
				c = strcmp(a.s ? a.s : "", b.s ? b.s : "");
			else
				c = a.i < b.i ? -1 : a.i > b.i;
			switch (e->op) {
			case OP_EQ: res = c == 0; break;
			case OP_NE: res = c != 0; break;
			case OP_LT: res = c < 0; break;
			case OP_LE: res = c <= 0; break;
			case OP_GT: res = c > 0; break;
			case OP_GE: res = c >= 0; break;
			default: break;
			}
		}
		*v = (struct val) { .present = true, .b = res };
		return 0;
	}
	if (!a.present || !b.present) {
		*v = (struct val) { .present = false };
		return 0;
	}
	*v = (struct val) { .present = true };
	switch (e->op) {
	case OP_ADD:
		if (__builtin_add_overflow(a.i, b.i, &v->i))
			return eval_err(ev, e, -ERANGE, "integer overflow");
		return 0;
	case OP_SUB:
		if (__builtin_sub_overflow(a.i, b.i, &v->i))
			return eval_err(ev, e, -ERANGE, "integer overflow");
		return 0;
	case OP_MUL:
		if (__builtin_mul_overflow(a.i, b.i, &v->i))
			return eval_err(ev, e, -ERANGE, "integer overflow");
		return 0;
	case OP_DIV:
	case OP_MOD:
		if (b.i == 0)
			return eval_err(ev, e, -EDOM, "division by zero");
		if (a.i == INT64_MIN && b.i == -1)
			return eval_err(ev, e, -ERANGE, "integer overflow");
		v->i = e->op == OP_DIV ? a.i / b.i : a.i % b.i;
		return 0;
	default:
		return eval_err(ev, e, -EINVAL, "bad operator");
	}
}

static int eval(struct evaluator *ev, const struct rule_expr *e, struct val *v)
{
	const struct expr_value *fv;
	int r;

	switch (e->kind) {
	case N_INT:
		*v = (struct val) { .present = true, .i = e->i };
		return 0;
	case N_STR:
		*v = (struct val) { .present = true, .s = e->s };
		return 0;
	case N_FACT:
		fv = ev->lookup(ev->ctx, e->fact);
		if (!fv || !fv->present)
			*v = (struct val) { .present = false };
		else
			*v = (struct val) { .present = true, .i = fv->i, .s = fv->s };
		return 0;
	case N_EXISTS:
		fv = ev->lookup(ev->ctx, e->fact);
		*v = (struct val) { .present = true, .b = fv && fv->present };
		return 0;
	case N_KERNEL:
		fv = ev->lookup(ev->ctx, F_KERNEL_VERSION);
		*v = (struct val) { .present = true, .b = fv && fv->present && fv->i >= e->i };
		return 0;
	case N_NEG:
		r = eval(ev, e->l, v);
		if (r < 0 || !v->present)
			return r;
		if (v->i == INT64_MIN)
			return eval_err(ev, e, -ERANGE, "integer overflow");
		v->i = -v->i;
		return 0;
	case N_NOT:
		r = eval(ev, e->l, v);
		if (r < 0)
			return r;	/* v is not set */
		v->b = !v->b;
		return 0;
	case N_BIN:
		return eval_bin(ev, e, v);
	}
	return -EINVAL;
}

int rule_expr_eval(const struct rule_expr *e, expr_lookup_fn lookup, void *ctx, char *err, size_t errlen)
{
	struct evaluator ev = { lookup, ctx, err, errlen };
	struct val v;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = eval(&ev, e, &v);
	if (r < 0)
		return r;
	return v.b ? 1 : 0;
}

static void collect(const struct rule_expr *e, size_t *ids, size_t max, size_t *n)
{
	size_t id;

	if (!e)
		return;
	if (e->kind == N_FACT || e->kind == N_EXISTS || e->kind == N_KERNEL) {
		id = e->kind == N_KERNEL ? (size_t) F_KERNEL_VERSION : e->fact;
		for (size_t k = 0; k < *n && k < max; k++)
			if (ids[k] == id)
				return;
		if (*n < max)
			ids[*n] = id;
		(*n)++;
	}
	collect(e->l, ids, max, n);
	collect(e->r, ids, max, n);
}

size_t rule_expr_facts(const struct rule_expr *e, size_t *ids, size_t max)
{
	size_t n = 0;

	collect(e, ids, max, &n);
	return n;
}
