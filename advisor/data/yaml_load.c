/* The libyaml front end: reads events (never libyaml's document loader, which
 * would expand aliases before we could refuse them) and builds a tree of
 * struct ynode, refusing everything outside tcptune's YAML subset at the
 * event that carries it.  What the keys and values mean is left to the rule,
 * profile and config loaders. */
#include "yaml_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "readfile.h"

/* A hostile file needs only two bytes a node ("[1,1,1,...]"), so the byte cap
 * alone would allow half a million nodes; this keeps the tree of a 1 MiB
 * file near 10 MiB (about 100 bytes a node with malloc's overhead). */
#define YAML_MAX_NODES 100000

/* Longest key quoted in a message, before escaping. */
#define KEY_SHOWN_MAX 48

/* A list or mapping whose end event has not come yet. */
struct frame {
	struct ynode *node;	/* owned by its parent (or the root) already */
	size_t cap;		/* allocated length of node->items and node->keys */
	struct ynode *key;	/* mapping: key read, value not yet; owned here */
	struct ynode **slots;	/* mapping: open-addressing set of its keys */
	size_t n_slots;		/* a power of two, or 0 */
};

struct builder {
	const char *display;
	struct diag *d;
	struct ynode *root;
	struct frame stack[YAML_MAX_DEPTH];
	size_t depth;
	size_t n_nodes;
	unsigned n_docs;
};

const char *ynode_type_name(enum ynode_type t)
{
	switch (t) {
	case YNODE_SCALAR:
		return "a scalar";
	case YNODE_SEQ:
		return "a list";
	case YNODE_MAP:
		return "a mapping";
	}
	return "an unknown node";
}

struct ynode *ynode_free(struct ynode *n)
{
	if (!n)
		return NULL;
	/* Depth is bounded by YAML_MAX_DEPTH, so recursion is safe.  A
	 * mapping's key and value are stored together: n counts both. */
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			ynode_free(n->keys[i]);
		if (n->items)
			ynode_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->scalar);
	free(n);
	return NULL;
}

const struct ynode *ynode_map_get(const struct ynode *n, const char *key)
{
	if (!n || n->type != YNODE_MAP || !key)
		return NULL;
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->keys[i]->scalar, key) == 0)
			return n->items[i];
	return NULL;
}

/* Keys come from the file and end up on a terminal: show printable ASCII,
 * everything else as \xNN (the same rendering as str_escape()). */
static const char *escape_key(const char *s, char *buf, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < KEY_SHOWN_MAX && s[i] && o + 5 < len; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char) c;
		else
			o += (size_t) snprintf(buf + o, len - o, "\\x%02x", c);
	}
	if (s[i] && o + 4 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* Line and column (1-based, counted in characters like libyaml's marks) of
 * byte offset off.  Line breaks are those libyaml counts: LF, CR, CRLF, NEL,
 * LS and PS; a leading UTF-8 BOM takes no column, as libyaml strips it. */
static void offset_to_position(const char *buf, size_t len, size_t off, unsigned *ret_line, unsigned *ret_col)
{
	const unsigned char *s = (const unsigned char *) buf;
	unsigned line = 1, col = 1;
	size_t i = 0;

	if (off > len)
		off = len;
	if (off >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < off) {
		size_t brk = 0;

		if ((s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') ||	/* CRLF */
		    (s[i] == 0xc2 && i + 1 < len && s[i + 1] == 0x85))		/* NEL */
			brk = 2;
		else if (s[i] == '\n' || s[i] == '\r')
			brk = 1;
		else if (s[i] == 0xe2 && i + 2 < len && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))	/* LS, PS */
			brk = 3;
		if (brk) {
			line++;
			col = 1;
			i += brk;
			continue;
		}
		if ((s[i] & 0xc0) != 0x80)	/* a continuation byte is not a new character */
			col++;
		i++;
	}
	*ret_line = line;
	*ret_col = col;
}

/* Offset of the first byte that does not start a valid UTF-8 character
 * (RFC 3629: no overlong forms, surrogates or values above U+10FFFF), or len. */
static size_t utf8_invalid_at(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *) buf;
	size_t i = 0;

	while (i < len) {
		uint32_t v, min;
		size_t w;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			w = 2, v = s[i] & 0x1fu, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			w = 3, v = s[i] & 0x0fu, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			w = 4, v = s[i] & 0x07u, min = 0x10000;
		} else {
			return i;
		}
		if (len - i < w)
			return i;
		for (size_t k = 1; k < w; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			v = (v << 6) | (s[i + k] & 0x3fu);
		}
		if (v < min || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
			return i;
		i += w;
	}
	return len;
}

static int fail_at_offset(const char *buf, size_t len, size_t off, const char *display, struct diag *d,
			  const char *msg)
{
	unsigned line, col;

	offset_to_position(buf, len, off, &line, &col);
	return diag_set(d, -EINVAL, display, line, col, "%s", msg);
}

/* What libyaml's reader would refuse with only a byte offset, or would turn
 * into something else: checked on the raw bytes first. */
static int check_bytes(const char *buf, size_t len, const char *display, struct diag *d)
{
	const char *nul;

	/* libyaml would decode UTF-16 silently; every byte offset we report
	 * assumes UTF-8, and the spec promises UTF-8 files. */
	if (len >= 2 && (memcmp(buf, "\xff\xfe", 2) == 0 || memcmp(buf, "\xfe\xff", 2) == 0))
		return diag_set(d, -EINVAL, display, 1, 1, "file is UTF-16; only UTF-8 is supported");
	nul = memchr(buf, '\0', len);
	if (nul)
		return fail_at_offset(buf, len, (size_t) (nul - buf), display, d, "NUL byte in file");
	return 0;
}

static int reader_error(const yaml_parser_t *p, const char *buf, size_t len, const char *display, struct diag *d)
{
	size_t bad = utf8_invalid_at(buf, len);
	char msg[sizeof(d->msg)];

	/* libyaml's offset for a bad trailing octet points past the
	 * character's first byte, and problem_mark is not set at all: report
	 * where the broken character starts. */
	if (bad < len && bad <= p->problem_offset) {
		snprintf(msg, sizeof(msg), "invalid UTF-8 (byte 0x%02x)", (unsigned char) buf[bad]);
		return fail_at_offset(buf, len, bad, display, d, msg);
	}
	if (p->problem_value >= 0)
		snprintf(msg, sizeof(msg), "%s (U+%04X)", p->problem ? p->problem : "unreadable input",
			 (unsigned) p->problem_value);
	else
		snprintf(msg, sizeof(msg), "%s", p->problem ? p->problem : "unreadable input");
	return fail_at_offset(buf, len, p->problem_offset, display, d, msg);
}

static int parser_error(const yaml_parser_t *p, const char *buf, size_t len, const char *display, struct diag *d)
{
	unsigned line = (unsigned) p->problem_mark.line + 1, col = (unsigned) p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "syntax error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return diag_set(d, -ENOMEM, display, 0, 0, "out of memory");
	case YAML_READER_ERROR:
		return reader_error(p, buf, len, display, d);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
		if (p->context)
			return diag_set(d, -EINVAL, display, line, col, "%s (%s at line %u, column %u)", problem,
					p->context, (unsigned) p->context_mark.line + 1,
					(unsigned) p->context_mark.column + 1);
		return diag_set(d, -EINVAL, display, line, col, "%s", problem);
	default:
		return diag_set(d, -EINVAL, display, 0, 0, "cannot parse YAML");
	}
}

static int fail(struct builder *b, int r, const yaml_mark_t *m, const char *msg)
{
	return diag_set(b->d, r, b->display, (unsigned) m->line + 1, (unsigned) m->column + 1, "%s", msg);
}

static int nomem(struct builder *b)
{
	return diag_set(b->d, -ENOMEM, b->display, 0, 0, "out of memory");
}

/* Anchors make aliases possible (the "billion laughs" expansion), and tags
 * would let a file pick its own types: both are refused where written.  An
 * untagged node has tag == NULL; libyaml resolves implicit tags later. */
static int check_properties(struct builder *b, const yaml_mark_t *m, const yaml_char_t *anchor,
			    const yaml_char_t *tag)
{
	if (anchor)
		return fail(b, -EINVAL, m, "anchors and aliases are not allowed");
	if (tag)
		return fail(b, -EINVAL, m, "tags are not allowed");
	return 0;
}

static int node_new(struct builder *b, const yaml_mark_t *m, enum ynode_type type, struct ynode **ret)
{
	struct ynode *n;
	char msg[64];

	if (b->n_nodes >= YAML_MAX_NODES) {
		snprintf(msg, sizeof(msg), "more than %d nodes in one file", YAML_MAX_NODES);
		return fail(b, -EFBIG, m, msg);
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return nomem(b);
	b->n_nodes++;
	n->type = type;
	n->line = (unsigned) m->line + 1;
	n->col = (unsigned) m->column + 1;
	*ret = n;
	return 0;
}

static size_t hash_key(const char *s)
{
	uint64_t h = 14695981039346656037u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211u;
	return (size_t) h;
}

static struct ynode **slot_for(struct ynode **slots, size_t n_slots, const char *key)
{
	size_t i = hash_key(key) & (n_slots - 1);

	while (slots[i] && strcmp(slots[i]->scalar, key) != 0)
		i = (i + 1) & (n_slots - 1);
	return &slots[i];
}

/* A set, not a scan, because a flat hostile mapping can hold 50000 keys and
 * checking each against all before it would take seconds. */
static int key_set_add(struct builder *b, struct frame *f, struct ynode *key)
{
	struct ynode **slot;
	char shown[KEY_SHOWN_MAX * 4 + 8], msg[sizeof(b->d->msg)];

	/* Keep the set at most half full; the pending key counts too. */
	if ((f->node->n + 1) * 2 > f->n_slots) {
		size_t n = f->n_slots ? f->n_slots * 2 : 16;
		struct ynode **slots = calloc(n, sizeof(*slots));	/* NOLINT(bugprone-sizeof-expression): pointers */

		if (!slots)
			return nomem(b);
		for (size_t i = 0; i < f->n_slots; i++)
			if (f->slots[i])
				*slot_for(slots, n, f->slots[i]->scalar) = f->slots[i];
		free(f->slots);
		f->slots = slots;
		f->n_slots = n;
	}
	slot = slot_for(f->slots, f->n_slots, key->scalar);
	if (*slot) {
		/* Quoting does not make a different key: "id" and id clash,
		 * as ynode_map_get() could only ever find the first. */
		snprintf(msg, sizeof(msg), "duplicate key '%s' (first at line %u)",
			 escape_key(key->scalar, shown, sizeof(shown)), (*slot)->line);
		return diag_set(b->d, -EINVAL, b->display, key->line, key->col, "%s", msg);
	}
	*slot = key;
	return 0;
}

static int frame_grow(struct builder *b, struct frame *f)
{
	struct ynode *n = f->node, **p;
	size_t cap;

	if (n->n < f->cap)
		return 0;
	cap = f->cap ? f->cap * 2 : 4;
	p = realloc(n->items, cap * sizeof(*p));	/* NOLINT(bugprone-sizeof-expression): pointers */
	if (!p)
		return nomem(b);
	n->items = p;
	if (n->type == YNODE_MAP) {
		p = realloc(n->keys, cap * sizeof(*p));	/* NOLINT(bugprone-sizeof-expression): pointers */
		if (!p)
			return nomem(b);
		n->keys = p;
	}
	f->cap = cap;
	return 0;
}

/* Give n to the open collection on top of the stack (or make it the root).
 * Takes ownership of n even on failure. */
static int attach(struct builder *b, struct ynode *n)
{
	struct frame *f;
	int r;

	if (b->depth == 0) {
		/* libyaml gives one root node per document, and a second
		 * document is refused: never true, but a second root must
		 * not leak the first. */
		if (b->root) {
			r = diag_set(b->d, -EINVAL, b->display, n->line, n->col, "more than one root node");
			ynode_free(n);
			return r;
		}
		b->root = n;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	if (f->node->type == YNODE_MAP && !f->key) {
		/* Collections in key position were refused at their start. */
		r = key_set_add(b, f, n);
		if (r < 0) {
			ynode_free(n);
			return r;
		}
		f->key = n;
		return 0;
	}
	r = frame_grow(b, f);
	if (r < 0) {
		ynode_free(n);
		return r;
	}
	if (f->node->type == YNODE_MAP) {
		f->node->keys[f->node->n] = f->key;
		f->key = NULL;
	}
	f->node->items[f->node->n++] = n;
	return 0;
}

static bool at_key(const struct builder *b)
{
	const struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;

	return f && f->node->type == YNODE_MAP && !f->key;
}

static int on_scalar(struct builder *b, const yaml_event_t *e)
{
	const yaml_mark_t *m = &e->start_mark;
	size_t len = e->data.scalar.length;
	struct ynode *n = NULL;
	int r;

	r = check_properties(b, m, e->data.scalar.anchor, e->data.scalar.tag);
	if (r < 0)
		return r;
	/* "\0" in a double-quoted scalar would cut the C string short. */
	if (memchr(e->data.scalar.value, '\0', len))
		return fail(b, -EINVAL, m, "NUL character in a value");
	/* A document with nothing in it ("---" alone) is an empty plain
	 * scalar to libyaml; to us it is no document. */
	if (b->depth == 0 && len == 0 && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return 0;
	r = node_new(b, m, YNODE_SCALAR, &n);
	if (r < 0)
		return r;
	n->scalar = malloc(len + 1);
	if (!n->scalar) {
		ynode_free(n);
		return nomem(b);
	}
	memcpy(n->scalar, e->data.scalar.value, len);
	n->scalar[len] = '\0';
	n->quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n);
}

static int on_start(struct builder *b, const yaml_event_t *e, enum ynode_type type)
{
	const yaml_mark_t *m = &e->start_mark;
	struct ynode *n = NULL;
	char msg[64];
	int r;

	if (type == YNODE_SEQ)
		r = check_properties(b, m, e->data.sequence_start.anchor, e->data.sequence_start.tag);
	else
		r = check_properties(b, m, e->data.mapping_start.anchor, e->data.mapping_start.tag);
	if (r < 0)
		return r;
	if (b->depth == YAML_MAX_DEPTH) {
		snprintf(msg, sizeof(msg), "nested deeper than %d levels", YAML_MAX_DEPTH);
		return fail(b, -EINVAL, m, msg);
	}
	if (at_key(b)) {
		snprintf(msg, sizeof(msg), "a mapping key must be a scalar, not %s", ynode_type_name(type));
		return fail(b, -EINVAL, m, msg);
	}
	r = node_new(b, m, type, &n);
	if (r < 0)
		return r;
	r = attach(b, n);
	if (r < 0)
		return r;
	b->stack[b->depth++] = (struct frame) { .node = n };
	return 0;
}

static void frame_release(struct frame *f)
{
	/* f->node belongs to its parent or the root. */
	f->key = ynode_free(f->key);
	free(f->slots);
	*f = (struct frame) { 0 };
}

static int on_event(struct builder *b, const yaml_event_t *e)
{
	const yaml_mark_t *m = &e->start_mark;

	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->n_docs++ > 0)
			return fail(b, -EINVAL, m, "only one document per file is allowed");
		if (e->data.document_start.tag_directives.start != e->data.document_start.tag_directives.end)
			return fail(b, -EINVAL, m, "%TAG directives are not allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(b, -EINVAL, m, "anchors and aliases are not allowed");
	case YAML_SCALAR_EVENT:
		return on_scalar(b, e);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, e, YNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, e, YNODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			frame_release(&b->stack[--b->depth]);
		return 0;
	default:
		return 0;
	}
}

int yaml_load_buffer(const char *buf, size_t len, const char *display, struct ynode **ret, struct diag *d)
{
	struct builder b = { .display = display, .d = d };
	yaml_parser_t parser;
	yaml_event_t event;
	bool done = false;
	int r;

	if (len > YAML_MAX_SIZE)
		return diag_set(d, -EFBIG, display, 0, 0, "file is larger than %d MiB", YAML_MAX_MIB);
	if (len == 0)
		buf = "";	/* libyaml asserts on a NULL input */
	r = check_bytes(buf, len, display, d);
	if (r < 0)
		return r;
	if (!yaml_parser_initialize(&parser))
		return diag_set(d, -ENOMEM, display, 0, 0, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);

	while (!done) {
		if (!yaml_parser_parse(&parser, &event)) {
			r = parser_error(&parser, buf, len, display, d);
			goto out;
		}
		done = event.type == YAML_STREAM_END_EVENT;
		r = on_event(&b, &event);
		yaml_event_delete(&event);
		if (r < 0)
			goto out;
	}
	*ret = b.root;
	b.root = NULL;		/* the caller owns it now */
	r = 0;
out:
	while (b.depth > 0)
		frame_release(&b.stack[--b.depth]);
	ynode_free(b.root);
	yaml_parser_delete(&parser);
	return r;
}

static int check_file(const struct stat *st, const char *display, bool trust_check, struct diag *d)
{
	if (!S_ISREG(st->st_mode))
		return diag_set(d, -EINVAL, display, 0, 0, "not a regular file");
	if (st->st_size > YAML_MAX_SIZE)
		return diag_set(d, -EFBIG, display, 0, 0, "file is larger than %d MiB", YAML_MAX_MIB);
	if (!trust_check)
		return 0;
	/* docs/SECURITY.md, like sshd's StrictModes: whoever can write the file could
	 * otherwise choose what root writes into the kernel. */
	if (st->st_uid != 0)
		return diag_set(d, -EPERM, display, 0, 0, "refusing to load: owned by uid %u, not root; fix with chown root",
				(unsigned) st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return diag_set(d, -EPERM, display, 0, 0,
				"refusing to load: writable by group or others (mode %04o); fix with chmod go-w",
				(unsigned) (st->st_mode & 07777));
	return 0;
}

int yaml_load_file(int dirfd, const char *path, const char *display, bool trust_check, struct ynode **ret,
		   struct diag *d)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	/* O_NONBLOCK: a FIFO planted in a rules directory must not hang us
	 * before fstat() can refuse it; it changes nothing for regular files. */
	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			return diag_set(d, r, display, 0, 0, "is a symbolic link; refusing to follow it");
		return diag_set(d, r, display, 0, 0, "cannot open: %s", strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		diag_set(d, r, display, 0, 0, "cannot stat: %s", strerror(-r));
		goto out;
	}
	r = check_file(&st, display, trust_check, d);
	if (r < 0)
		goto out;
	r = read_fd_capped(fd, YAML_MAX_SIZE, &buf, &len);
	if (r == -EFBIG)
		diag_set(d, r, display, 0, 0, "file is larger than %d MiB", YAML_MAX_MIB);
	else if (r < 0)
		diag_set(d, r, display, 0, 0, "cannot read: %s", strerror(-r));
	if (r < 0)
		goto out;
	r = yaml_load_buffer(buf, len, display, ret, d);
out:
	free(buf);
	close(fd);
	return r;
}
