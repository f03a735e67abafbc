/* Tests for yaml_load.c: the tree and its positions, every refusal with its
 * exact line and column, the size and node caps, and yaml_load_file()'s
 * checks on real files in a temporary directory (symlink, directory, FIFO,
 * mode, owner).  Allocation failures are injected when the binary is linked
 * with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc; otherwise that test
 * is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "yaml_load.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal with its length, so cases may hold NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

/* ---- allocation failure injection ---------------------------------------- */

/* Weak, so the binary also links without --wrap: then __real_malloc is
 * NULL and test_alloc_failures() skips. */
void *__real_malloc(size_t size) __attribute__((weak));
void *__real_calloc(size_t n, size_t size) __attribute__((weak));
void *__real_realloc(void *p, size_t size) __attribute__((weak));
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static long alloc_countdown = -1;	/* fail the allocation that finds it at 0 */

static bool alloc_fails(void)
{
	return alloc_countdown >= 0 && alloc_countdown-- == 0;
}

void *__wrap_malloc(size_t size)
{
	return alloc_fails() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return alloc_fails() ? NULL : __real_realloc(p, size);
}

/* ---- helpers ------------------------------------------------------------- */

static struct ynode *load_ok(const char *src, size_t len)
{
	struct diag d = { 0 };
	struct ynode *n = NULL;
	int r = yaml_load_buffer(src, len, "t.yaml", &n, &d);

	if (r != 0)
		fail_msg("unexpected error %d: %s:%u:%u: %s", r, d.file, d.line, d.col, d.msg);
	return n;
}

static void assert_node(const struct ynode *n, enum ynode_type type, unsigned line, unsigned col)
{
	assert_non_null(n);
	assert_int_equal(n->type, type);
	assert_int_equal(n->line, line);
	assert_int_equal(n->col, col);
}

static void assert_scalar(const struct ynode *n, const char *value, bool quoted, unsigned line, unsigned col)
{
	assert_node(n, YNODE_SCALAR, line, col);
	assert_string_equal(n->scalar, value);
	assert_int_equal(n->quoted, quoted);
}

/* A string of depth '[' then depth ']'. */
static char *nested_lists(size_t depth)
{
	char *s = malloc(2 * depth + 1);

	assert_non_null(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

/* ---- the tree ------------------------------------------------------------ */

static const char good_doc[] = "# A comment line\n"
			       "id: tcp-001\n"
			       "enabled: true\n"
			       "match:\n"
			       "  facts: [sockets.timewait, \"net.ipv4.tcp_tw_reuse\"]\n"
			       "  when: |\n"
			       "    timewait > 1000\n"
			       "rules:\n"
			       "  - name: one\n"
			       "    level: 2\n"
			       "  - two\n"
			       "empty:\n"
			       "quoted: 'x'\n";

/* The same document as tests/fixtures/yaml/good.yaml, line for line. */
static void assert_good_tree(const struct ynode *root)
{
	const struct ynode *match, *facts, *rules;

	assert_node(root, YNODE_MAP, 2, 1);
	assert_int_equal(root->n, 6);
	assert_scalar(root->keys[0], "id", false, 2, 1);
	assert_scalar(root->items[0], "tcp-001", false, 2, 5);
	assert_scalar(ynode_map_get(root, "enabled"), "true", false, 3, 10);

	match = ynode_map_get(root, "match");
	assert_node(match, YNODE_MAP, 5, 3);
	assert_int_equal(match->n, 2);
	assert_scalar(match->keys[0], "facts", false, 5, 3);
	facts = ynode_map_get(match, "facts");
	assert_node(facts, YNODE_SEQ, 5, 10);
	assert_int_equal(facts->n, 2);
	assert_null(facts->keys);
	assert_scalar(facts->items[0], "sockets.timewait", false, 5, 11);
	assert_scalar(facts->items[1], "net.ipv4.tcp_tw_reuse", true, 5, 29);
	assert_scalar(ynode_map_get(match, "when"), "timewait > 1000\n", true, 6, 9);

	rules = ynode_map_get(root, "rules");
	assert_node(rules, YNODE_SEQ, 9, 3);
	assert_int_equal(rules->n, 2);
	assert_node(rules->items[0], YNODE_MAP, 9, 5);
	assert_scalar(rules->items[0]->keys[0], "name", false, 9, 5);
	assert_scalar(ynode_map_get(rules->items[0], "name"), "one", false, 9, 11);
	assert_scalar(ynode_map_get(rules->items[0], "level"), "2", false, 10, 12);
	assert_scalar(rules->items[1], "two", false, 11, 5);

	/* "empty:" has an empty plain value; libyaml puts it after the colon. */
	assert_scalar(ynode_map_get(root, "empty"), "", false, 12, 7);
	assert_scalar(ynode_map_get(root, "quoted"), "x", true, 13, 9);
	assert_scalar(root->keys[5], "quoted", false, 13, 1);
}

static void test_valid_document(void **state)
{
	struct ynode *root;

	(void) state;
	root = load_ok(S(good_doc));
	assert_good_tree(root);
	assert_null(ynode_free(root));
}

static void test_scalar_styles(void **state)
{
	static const struct {
		const char *src;
		const char *value;
		bool quoted;
	} cases[] = {
		{ "a: plain words\n", "plain words", false },
		{ "a: 'single ''q'''\n", "single 'q'", true },
		{ "a: \"dou\\tble\"\n", "dou\tble", true },
		{ "a: |\n  lit\n  eral\n", "lit\neral\n", true },
		{ "a: >\n  fol\n  ded\n", "fol ded\n", true },
		{ "a: \"\"\n", "", true },
		{ "a: caf\xc3\xa9\n", "caf\xc3\xa9", false },
	};

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ynode *root = load_ok(cases[i].src, strlen(cases[i].src));

		assert_node(root, YNODE_MAP, 1, 1);
		assert_scalar(ynode_map_get(root, "a"), cases[i].value, cases[i].quoted, 1, 4);
		ynode_free(root);
	}
}

static void test_root_kinds(void **state)
{
	struct ynode *root;

	(void) state;
	root = load_ok(S("- a\n- [b, {c: d}]\n"));
	assert_node(root, YNODE_SEQ, 1, 1);
	assert_int_equal(root->n, 2);
	assert_scalar(root->items[0], "a", false, 1, 3);
	assert_node(root->items[1], YNODE_SEQ, 2, 3);
	assert_node(root->items[1]->items[1], YNODE_MAP, 2, 7);
	assert_scalar(root->items[1]->items[1]->keys[0], "c", false, 2, 8);
	assert_scalar(ynode_map_get(root->items[1]->items[1], "c"), "d", false, 2, 11);
	ynode_free(root);

	root = load_ok(S("--- just text\n...\n"));
	assert_scalar(root, "just text", false, 1, 5);
	ynode_free(root);

	/* A quoted empty string is a value, not an empty document. */
	root = load_ok(S("''\n"));
	assert_scalar(root, "", true, 1, 1);
	ynode_free(root);

	/* A UTF-8 byte order mark takes no column. */
	root = load_ok(S("\xef\xbb\xbf" "a: 1\n"));
	assert_scalar(ynode_map_get(root, "a"), "1", false, 1, 4);
	ynode_free(root);
}

static void test_empty(void **state)
{
	static const struct {
		const char *src;
		size_t len;
	} cases[] = {
		{ S("") }, { S("\n\n") }, { S("# only\n  # comments\n") }, { S("---\n") }, { S("--- # x\n...\n") },
		{ NULL, 0 },
	};

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ynode *root = (struct ynode *) 1;
		struct diag d = { 0 };

		assert_int_equal(yaml_load_buffer(cases[i].src, cases[i].len, "t.yaml", &root, &d), 0);
		assert_null(root);
	}
}

/* ---- refusals ------------------------------------------------------------ */

struct reject {
	const char *name;
	const char *src;
	size_t len;
	int r;
	unsigned line, col;
	const char *msg;	/* a substring of the message */
};

static const struct reject rejects[] = {
	{ "anchor", S("a: &x 1\n"), -EINVAL, 1, 4, "anchors and aliases are not allowed" },
	{ "anchor on a mapping", S("a: 1\nb: &m\n  c: 2\n"), -EINVAL, 2, 4, "anchors and aliases are not allowed" },
	{ "anchor on a list", S("a: &l [1]\n"), -EINVAL, 1, 4, "anchors and aliases are not allowed" },
	{ "alias", S("b: *x\n"), -EINVAL, 1, 4, "anchors and aliases are not allowed" },
	{ "alias in a list", S("a: [1, *x]\n"), -EINVAL, 1, 8, "anchors and aliases are not allowed" },
	{ "alias bomb",
	  S("lol1: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	    "lol2: &b [*a,*a,*a,*a,*a]\n"
	    "lol3: &c [*b,*b,*b,*b,*b]\n"
	    "lol4: [*c,*c,*c,*c,*c]\n"),
	  -EINVAL, 1, 7, "anchors and aliases are not allowed" },
	{ "tag !!str", S("a: !!str 1\n"), -EINVAL, 1, 4, "tags are not allowed" },
	{ "local tag", S("a: 1\nb: !foo x\n"), -EINVAL, 2, 4, "tags are not allowed" },
	{ "non-specific tag", S("a: ! 1\n"), -EINVAL, 1, 4, "tags are not allowed" },
	{ "verbatim tag", S("a: !<tag:x.org,2000:y> 1\n"), -EINVAL, 1, 4, "tags are not allowed" },
	{ "tag on a list", S("a: !!seq [1]\n"), -EINVAL, 1, 4, "tags are not allowed" },
	{ "tag on a mapping", S("!!map\na: 1\n"), -EINVAL, 1, 1, "tags are not allowed" },
	{ "tag on a key", S("!!str a: 1\n"), -EINVAL, 1, 1, "tags are not allowed" },
	{ "%TAG directive", S("%TAG !e! tag:e.org,2000:\n---\na: 1\n"), -EINVAL, 1, 1, "%TAG directives" },
	{ "duplicate key", S("id: 1\nname: x\nid: 2\n"), -EINVAL, 3, 1, "duplicate key 'id' (first at line 1)" },
	{ "duplicate key, quoted", S("id: 1\n\"id\": 2\n"), -EINVAL, 2, 1, "duplicate key 'id' (first at line 1)" },
	{ "duplicate key, nested", S("a:\n  x: 1\n  y: 2\n  x: 3\n"), -EINVAL, 4, 3,
	  "duplicate key 'x' (first at line 2)" },
	{ "duplicate key, in a list item", S("- a: 1\n- b: 1\n  b: 2\n"), -EINVAL, 3, 3,
	  "duplicate key 'b' (first at line 2)" },
	{ "duplicate key, flow", S("{a: 1, a: 2}\n"), -EINVAL, 1, 8, "duplicate key 'a' (first at line 1)" },
	{ "duplicate key, escaped in message", S("\"\\e[2J\": 1\n\"\\e[2J\": 2\n"), -EINVAL, 2, 1,
	  "duplicate key '\\x1b[2J'" },
	{ "non-scalar key, explicit", S("? [a]: b\n"), -EINVAL, 1, 3, "a mapping key must be a scalar, not a mapping" },
	{ "list as key", S("[a]: b\n"), -EINVAL, 1, 1, "a mapping key must be a scalar, not a list" },
	{ "mapping as key", S("x: 1\n{a: 1}: b\n"), -EINVAL, 2, 1, "a mapping key must be a scalar, not a mapping" },
	{ "block list as key", S("? - a\n: b\n"), -EINVAL, 1, 3, "a mapping key must be a scalar, not a list" },
	{ "two documents", S("---\na: 1\n---\nb: 2\n"), -EINVAL, 3, 1, "only one document" },
	{ "empty second document", S("a: 1\n---\n"), -EINVAL, 2, 1, "only one document" },
	{ "NUL byte", S("a: b\0c\n"), -EINVAL, 1, 5, "NUL byte" },
	{ "NUL byte, line 2", S("a: 1\nbb: \0\n"), -EINVAL, 2, 5, "NUL byte" },
	{ "NUL escape", S("a: 1\nb: \"x\\0y\"\n"), -EINVAL, 2, 4, "NUL character" },
	{ "invalid UTF-8 at end of line", S("id: caf\xe9\n"), -EINVAL, 1, 8, "invalid UTF-8 (byte 0xe9)" },
	{ "invalid UTF-8, bad trailing byte", S("id: caf\xe9x\nb: 1\n"), -EINVAL, 1, 8, "invalid UTF-8 (byte 0xe9)" },
	{ "invalid UTF-8 after multibyte", S("a: 1\nb: 2\n\xc3\xa9: \xff\n"), -EINVAL, 3, 4, "byte 0xff" },
	{ "invalid UTF-8, CRLF lines", S("a: 1\r\nb: \xff\r\n"), -EINVAL, 2, 4, "byte 0xff" },
	{ "invalid UTF-8 after BOM", S("\xef\xbb\xbf" "a: \xff\n"), -EINVAL, 1, 4, "byte 0xff" },
	{ "overlong UTF-8", S("a: \xc0\xaf\n"), -EINVAL, 1, 4, "byte 0xc0" },
	{ "UTF-8 surrogate", S("a: \xed\xa0\x80\n"), -EINVAL, 1, 4, "byte 0xed" },
	{ "truncated UTF-8 at end", S("a: \xe2\x82"), -EINVAL, 1, 4, "byte 0xe2" },
	{ "invalid UTF-8 in a quoted scalar", S("# pad\n# pad\n# pad\nkey: [a, b]\nother: \"x\xf8\"\n"), -EINVAL, 5, 10,
	  "byte 0xf8" },
	{ "control character", S("a: 1\nb: x\x07\n"), -EINVAL, 2, 5, "control characters are not allowed (U+0007)" },
	{ "UTF-16", S("\xff\xfe" "a\0:\0"), -EINVAL, 1, 1, "UTF-16" },
	{ "unclosed quote", S("a: \"abc\n"), -EINVAL, 2, 1, "unexpected end of stream" },
	{ "unclosed flow list", S("key: [unclosed\n"), -EINVAL, 2, 1, "did not find expected ',' or ']'" },
	{ "bad indentation", S("a:\n  b: 1\n c: 2\n"), -EINVAL, 3, 2, "did not find expected key" },
	{ "tab indentation", S("a:\n\tb: 1\n"), -EINVAL, 2, 1, "cannot start any token" },
	{ "value in a plain scalar", S("a: b: c\n"), -EINVAL, 1, 5, "mapping values are not allowed" },
};

static void test_rejects(void **state)
{
	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(rejects); i++) {
		const struct reject *c = &rejects[i];
		struct ynode *root = (struct ynode *) 1;
		struct diag d = { 0 };
		int r;

		r = yaml_load_buffer(c->src, c->len, "rules/t.yaml", &root, &d);
		if (r != c->r || d.line != c->line || d.col != c->col || !strstr(d.msg, c->msg))
			fail_msg("%s: got %d %s:%u:%u: %s; want %d at %u:%u with '%s'", c->name, r, d.file, d.line, d.col,
				 d.msg, c->r, c->line, c->col, c->msg);
		assert_string_equal(d.file, "rules/t.yaml");
		assert_ptr_equal(root, (struct ynode *) 1);	/* untouched on failure */
	}
}

static void test_depth(void **state)
{
	struct diag d = { 0 };
	struct ynode *root = NULL;
	const struct ynode *n;
	unsigned col = 1;
	char *s;

	(void) state;
	/* YAML_MAX_DEPTH levels load; the next one is refused at its '['. */
	s = nested_lists(YAML_MAX_DEPTH);
	root = load_ok(s, strlen(s));
	for (n = root; n->n; n = n->items[0], col++)
		assert_node(n, YNODE_SEQ, 1, col);
	assert_node(n, YNODE_SEQ, 1, YAML_MAX_DEPTH);
	ynode_free(root);
	free(s);

	for (size_t depth = YAML_MAX_DEPTH + 1; depth <= 40; depth += 40 - YAML_MAX_DEPTH - 1) {
		root = NULL;
		s = nested_lists(depth);
		assert_int_equal(yaml_load_buffer(s, strlen(s), "t.yaml", &root, &d), -EINVAL);
		assert_null(root);
		assert_int_equal(d.line, 1);
		assert_int_equal(d.col, YAML_MAX_DEPTH + 1);
		assert_non_null(strstr(d.msg, "nested deeper than 32 levels"));
		free(s);
	}

	/* Block mappings count the same way. */
	{
		char buf[4096];
		size_t o = 0;

		for (int i = 0; i < 40; i++)
			o += (size_t) snprintf(buf + o, sizeof(buf) - o, "%*sk%d:\n", i * 2, "", i);
		assert_int_equal(yaml_load_buffer(buf, o, "t.yaml", &root, &d), -EINVAL);
		assert_int_equal(d.line, YAML_MAX_DEPTH + 1);
		assert_int_equal(d.col, YAML_MAX_DEPTH * 2 + 1);
	}
}

static void test_size_cap(void **state)
{
	size_t big = 10 * 1024 * 1024;
	char *buf = malloc(big);
	struct ynode *root = NULL;
	struct diag d = { 0 };

	(void) state;
	assert_non_null(buf);
	memset(buf, '#', big);
	assert_int_equal(yaml_load_buffer(buf, big, "big.yaml", &root, &d), -EFBIG);
	assert_null(root);
	assert_string_equal(d.msg, "file is larger than 1 MiB");
	assert_int_equal(d.line, 0);
	assert_int_equal(d.col, 0);

	/* One byte over, refused; exactly the cap, loaded. */
	assert_int_equal(yaml_load_buffer(buf, YAML_MAX_SIZE + 1, "big.yaml", &root, &d), -EFBIG);
	memcpy(buf, "a: ", 3);
	memset(buf + 3, 'x', YAML_MAX_SIZE - 4);
	buf[YAML_MAX_SIZE - 1] = '\n';
	root = load_ok(buf, YAML_MAX_SIZE);
	assert_int_equal(strlen(ynode_map_get(root, "a")->scalar), YAML_MAX_SIZE - 4);
	ynode_free(root);
	free(buf);
}

/* "[1,1,...,1,]" with n items: two bytes a node, the cheapest there is. */
static char *flat_list(size_t n)
{
	char *s = malloc(2 * n + 3);

	assert_non_null(s);
	s[0] = '[';
	for (size_t i = 0; i < n; i++)
		memcpy(s + 1 + 2 * i, "1,", 2);
	memcpy(s + 1 + 2 * n, "]", 2);
	return s;
}

/* 100000 nodes load (the list and 99999 items); one more is refused where
 * it starts. */
static void test_node_cap(void **state)
{
	struct ynode *root = NULL;
	struct diag d = { 0 };
	char *s;

	(void) state;
	s = flat_list(99999);
	root = load_ok(s, strlen(s));
	assert_int_equal(root->n, 99999);
	ynode_free(root);
	free(s);

	s = flat_list(100000);
	root = NULL;
	assert_int_equal(yaml_load_buffer(s, strlen(s), "t.yaml", &root, &d), -EFBIG);
	assert_null(root);
	assert_int_equal(d.line, 1);
	assert_int_equal(d.col, 1 + 1 + 2 * 99999);	/* the last item */
	assert_non_null(strstr(d.msg, "more than 100000 nodes"));
	free(s);
}

/* Many keys in one mapping: the duplicate check must stay fast and find a
 * duplicate after the key set has grown many times. */
static void test_large_mapping(void **state)
{
	size_t keys = 40000, cap = keys * 16 + 64, o = 0;
	char *buf = malloc(cap);
	struct ynode *root = NULL;
	struct diag d = { 0 };

	(void) state;
	assert_non_null(buf);
	for (size_t i = 0; i < keys; i++)
		o += (size_t) snprintf(buf + o, cap - o, "k%zu: %zu\n", i, i);
	root = load_ok(buf, o);
	assert_int_equal(root->n, keys);
	assert_scalar(ynode_map_get(root, "k31337"), "31337", false, 31338, 9);
	assert_null(ynode_map_get(root, "k40000"));
	ynode_free(root);

	o += (size_t) snprintf(buf + o, cap - o, "k1234: again\n");
	root = NULL;
	assert_int_equal(yaml_load_buffer(buf, o, "t.yaml", &root, &d), -EINVAL);
	assert_null(root);
	assert_int_equal(d.line, keys + 1);
	assert_int_equal(d.col, 1);
	assert_string_equal(d.msg, "duplicate key 'k1234' (first at line 1235)");

	/* Far past libyaml's first read chunk, a reader error's offset must
	 * still come out as the right line and column. */
	o -= strlen("k1234: again\n");
	o += (size_t) snprintf(buf + o, cap - o, "bad: \xff\n");
	assert_int_equal(yaml_load_buffer(buf, o, "t.yaml", &root, &d), -EINVAL);
	assert_int_equal(d.line, keys + 1);
	assert_int_equal(d.col, 6);
	assert_string_equal(d.msg, "invalid UTF-8 (byte 0xff)");
	free(buf);
}

static void test_accessors(void **state)
{
	struct ynode *root;

	(void) state;
	root = load_ok(S("a: 1\nb: [x]\n"));
	assert_scalar(ynode_map_get(root, "a"), "1", false, 1, 4);
	assert_null(ynode_map_get(root, "c"));
	assert_null(ynode_map_get(root, NULL));
	assert_null(ynode_map_get(NULL, "a"));
	assert_null(ynode_map_get(ynode_map_get(root, "b"), "x"));		/* a list */
	assert_null(ynode_map_get(ynode_map_get(root, "a"), "1"));		/* a scalar */
	assert_null(ynode_free(root));
	assert_null(ynode_free(NULL));

	assert_string_equal(ynode_type_name(YNODE_SCALAR), "a scalar");
	assert_string_equal(ynode_type_name(YNODE_SEQ), "a list");
	assert_string_equal(ynode_type_name(YNODE_MAP), "a mapping");
}

/* Every allocation made by yaml_load.c fails in turn: each run returns
 * -ENOMEM and LeakSanitizer checks nothing is left behind. */
static void test_alloc_failures(void **state)
{
	static const char *docs[] = { good_doc, "a: 1\na: 2\n", "[[[1, 2], {x: y}], z]\n" };

	(void) state;
	if (!__real_malloc || !__real_calloc || !__real_realloc) {
		print_message("not linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc: skipped\n");
		skip();
	}
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		int done = 0;

		for (long n = 0; !done; n++) {
			struct ynode *root = NULL;
			struct diag d = { 0 };
			int r;

			alloc_countdown = n;
			r = yaml_load_buffer(docs[i], strlen(docs[i]), "t.yaml", &root, &d);
			done = alloc_countdown >= 0;	/* nothing was failed */
			alloc_countdown = -1;
			if (done) {
				assert_true(r == 0 || r == -EINVAL);
			} else {
				assert_int_equal(r, -ENOMEM);
				assert_null(root);
			}
			ynode_free(root);
		}
	}
}

/* ---- files --------------------------------------------------------------- */

struct env {
	char dir[PATH_MAX];
	int dirfd;
};

static void write_file(const struct env *e, const char *name, const char *content, mode_t mode)
{
	int fd = openat(e->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);	/* whatever the umask */
	close(fd);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *tmpdir = getenv("TMPDIR");

	if (!e)
		return -1;
	snprintf(e->dir, sizeof(e->dir), "%s/test_yaml_load.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dirfd < 0) {
		rmdir(e->dir);
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct env *e = *state;
	int r;

	close(e->dirfd);
	r = nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return r;
}

static void assert_file_fails(const struct env *e, const char *name, bool trust, int want_r, const char *want_msg)
{
	struct ynode *root = (struct ynode *) 1;
	struct diag d = { 0 };
	int r;

	r = yaml_load_file(e->dirfd, name, name, trust, &root, &d);
	if (r != want_r || !strstr(d.msg, want_msg))
		fail_msg("%s: got %d '%s', want %d '%s'", name, r, d.msg, want_r, want_msg);
	assert_string_equal(d.file, name);
	assert_ptr_equal(root, (struct ynode *) 1);
}

static void test_file_good(void **state)
{
	struct env *e = *state;
	struct ynode *root = NULL;
	struct diag d = { 0 };

	write_file(e, "good.yaml", good_doc, 0644);
	assert_int_equal(yaml_load_file(e->dirfd, "good.yaml", "good.yaml", false, &root, &d), 0);
	assert_good_tree(root);
	root = ynode_free(root);

	/* Owned by root and 0644: trusted.  Only root can create that. */
	if (geteuid() != 0) {
		print_message("not root: the trusted-file case needs a root-owned file, skipped\n");
		return;
	}
	assert_int_equal(yaml_load_file(e->dirfd, "good.yaml", "good.yaml", true, &root, &d), 0);
	assert_good_tree(root);
	ynode_free(root);

	/* Empty, and relative to a directory fd like the callers do it. */
	write_file(e, "empty.yaml", "# nothing yet\n", 0600);
	root = (struct ynode *) 1;
	assert_int_equal(yaml_load_file(e->dirfd, "empty.yaml", "empty.yaml", true, &root, &d), 0);
	assert_null(root);
}

static void test_file_fixtures(void **state)
{
	int fd = open(FIXTURES "/yaml", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct ynode *root = NULL;
	struct diag d = { 0 };

	(void) state;
	assert_true(fd >= 0);
	/* trust_check off: a checkout belongs to whoever made it. */
	assert_int_equal(yaml_load_file(fd, "good.yaml", "yaml/good.yaml", false, &root, &d), 0);
	assert_good_tree(root);
	ynode_free(root);

	root = NULL;
	assert_int_equal(yaml_load_file(fd, "duplicate_key.yaml", "yaml/duplicate_key.yaml", false, &root, &d), -EINVAL);
	assert_null(root);
	assert_string_equal(d.file, "yaml/duplicate_key.yaml");
	assert_int_equal(d.line, 5);
	assert_int_equal(d.col, 1);
	assert_string_equal(d.msg, "duplicate key 'severity' (first at line 2)");

	assert_int_equal(yaml_load_file(fd, "alias_bomb.yaml", "yaml/alias_bomb.yaml", false, &root, &d), -EINVAL);
	assert_null(root);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.col, 7);
	assert_string_equal(d.msg, "anchors and aliases are not allowed");
	close(fd);
}

static void test_file_not_regular(void **state)
{
	struct env *e = *state;

	write_file(e, "target.yaml", "a: 1\n", 0644);
	assert_int_equal(symlinkat("target.yaml", e->dirfd, "link.yaml"), 0);
	assert_file_fails(e, "link.yaml", false, -ELOOP, "is a symbolic link");
	assert_file_fails(e, "link.yaml", true, -ELOOP, "is a symbolic link");

	assert_int_equal(mkdirat(e->dirfd, "dir.yaml", 0755), 0);
	assert_file_fails(e, "dir.yaml", false, -EINVAL, "not a regular file");

	/* Opening a FIFO must not wait for a writer; if it does, SIGALRM
	 * ends the test red instead of hanging it. */
	assert_int_equal(mkfifoat(e->dirfd, "fifo.yaml", 0644), 0);
	alarm(10);
	assert_file_fails(e, "fifo.yaml", false, -EINVAL, "not a regular file");
	alarm(0);

	assert_file_fails(e, "missing.yaml", false, -ENOENT, "cannot open: No such file or directory");
}

static void test_file_size(void **state)
{
	struct env *e = *state;
	int fd;

	/* A sparse 10 MB file: refused from its size, before any reading. */
	fd = openat(e->dirfd, "huge.yaml", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 10 * 1024 * 1024), 0);
	close(fd);
	assert_file_fails(e, "huge.yaml", false, -EFBIG, "file is larger than 1 MiB");

	fd = openat(e->dirfd, "over.yaml", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, YAML_MAX_SIZE + 1), 0);
	close(fd);
	assert_file_fails(e, "over.yaml", false, -EFBIG, "file is larger than 1 MiB");
}

static void test_file_syntax_error(void **state)
{
	struct env *e = *state;
	struct ynode *root = NULL;
	struct diag d = { 0 };

	write_file(e, "bad.yaml", "a: 1\nb: \"open\n", 0644);
	assert_int_equal(yaml_load_file(e->dirfd, "bad.yaml", "rules/bad.yaml", false, &root, &d), -EINVAL);
	assert_string_equal(d.file, "rules/bad.yaml");
	assert_int_equal(d.line, 3);
	assert_int_equal(d.col, 1);
}

static void test_file_trust(void **state)
{
	static const struct {
		mode_t mode;
		const char *msg;
	} modes[] = {
		{ 0666, "writable by group or others (mode 0666); fix with chmod go-w" },
		{ 0664, "writable by group or others (mode 0664); fix with chmod go-w" },
		{ 0646, "writable by group or others (mode 0646); fix with chmod go-w" },
		{ 0620, "writable by group or others (mode 0620); fix with chmod go-w" },
	};
	struct env *e = *state;
	struct ynode *root = NULL;
	struct diag d = { 0 };
	char name[32];

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		snprintf(name, sizeof(name), "mode%04o.yaml", (unsigned) modes[i].mode);
		write_file(e, name, "a: 1\n", modes[i].mode);
		/* Not root, the file is not root's: that refusal comes first. */
		assert_file_fails(e, name, true, -EPERM, geteuid() == 0 ? modes[i].msg : "not root");
		/* Without the check the same file loads. */
		assert_int_equal(yaml_load_file(e->dirfd, name, name, false, &root, &d), 0);
		root = ynode_free(root);
	}

	if (geteuid() != 0) {
		print_message("not root: cannot chown a file to uid 1000, skipped\n");
		return;
	}
	write_file(e, "user.yaml", "a: 1\n", 0644);
	assert_int_equal(fchownat(e->dirfd, "user.yaml", 1000, 0, AT_SYMLINK_NOFOLLOW), 0);
	assert_file_fails(e, "user.yaml", true, -EPERM, "owned by uid 1000, not root");
	assert_int_equal(yaml_load_file(e->dirfd, "user.yaml", "user.yaml", false, &root, &d), 0);
	ynode_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_document),
		cmocka_unit_test(test_scalar_styles),
		cmocka_unit_test(test_root_kinds),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_node_cap),
		cmocka_unit_test(test_large_mapping),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_file_fixtures),
		cmocka_unit_test_setup_teardown(test_file_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_syntax_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_trust, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
