/* Manifest JSON <-> struct txn_entry (see manifest.h).  Decoding is strict:
 * duplicate members, unknown members, wrong types, oversized strings, unknown
 * or read-only keys and unparsable values all make a manifest corrupt, so
 * nothing downstream ever builds a path or writes a value from a manifest
 * that did not pass here. */
#include "manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

static const char *const actions[] = { "apply", "rollback" };
static const char *const statuses[] = {
	ST_PENDING, ST_APPLIED, ST_UNCHANGED, ST_ROLLED_BACK, ST_RECOVERED, ST_UNDONE,
};
static const char *const top_fields[] = {
	"schema", "id", "action", "profile", "target", "user", "uid", "time", "status", "keys", "file", "error",
};

#define ID_DIGITS_MAX 8

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool manifest_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= ID_DIGITS_MAX && strspn(s, "0123456789") == n;
}

bool manifest_status_valid(const char *s)
{
	return in_list(s, statuses, sizeof(statuses) / sizeof(statuses[0]));
}

/* ---- encoding ------------------------------------------------------------ */

static int set_new(json_t *obj, const char *name, json_t *v)
{
	/* json_string() is NULL for text that is not UTF-8; set_new frees v. */
	return v && json_object_set_new(obj, name, v) == 0 ? 0 : -EINVAL;
}

static json_t *encode_keys(const struct txn_entry *e)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < e->n_keys; i++) {
		const struct txn_entry_key *k = &e->keys[i];
		json_t *o;

		if (k->key >= key_count)
			goto fail;
		o = json_object();
		if (!o || json_array_append_new(arr, o) < 0)
			goto fail;
		if (set_new(o, "key", json_string(key_table[k->key].name)) < 0 ||
		    set_new(o, "old", k->had_old ? json_string(k->old_value) : json_null()) < 0 ||
		    set_new(o, "new", json_string(k->new_value)) < 0)
			goto fail;
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

int manifest_encode(const struct txn_entry *e, uid_t uid, char **ret_text)
{
	json_t *root, *file;
	char *text = NULL, *out;
	size_t len;
	int r = -EINVAL;

	root = json_object();
	if (!root)
		return -ENOMEM;
	if (set_new(root, "schema", json_integer(MANIFEST_SCHEMA)) < 0 ||
	    set_new(root, "id", json_string(e->id)) < 0 || set_new(root, "action", json_string(e->action)) < 0 ||
	    set_new(root, "profile", json_string(e->profile)) < 0)
		goto out;
	if (e->target[0] && set_new(root, "target", json_string(e->target)) < 0)
		goto out;
	if (set_new(root, "user", json_string(e->user)) < 0 || set_new(root, "uid", json_integer(uid)) < 0 ||
	    set_new(root, "time", json_string(e->time)) < 0 || set_new(root, "status", json_string(e->status)) < 0 ||
	    set_new(root, "keys", encode_keys(e)) < 0)
		goto out;
	file = json_object();
	if (set_new(root, "file", file) < 0 || set_new(file, "path", json_string(e->file_path)) < 0 ||
	    set_new(file, "existed", json_boolean(e->file_existed)) < 0)
		goto out;
	if (e->file_mode && set_new(file, "mode", json_integer(e->file_mode & 07777)) < 0)
		goto out;
	if (e->file_owner_known && (set_new(file, "uid", json_integer(e->file_uid)) < 0 ||
				    set_new(file, "gid", json_integer(e->file_gid)) < 0))
		goto out;
	if (e->error[0] && set_new(root, "error", json_string(e->error)) < 0)
		goto out;

	text = json_dumps(root, JSON_INDENT(2));
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	len = strlen(text);
	out = malloc(len + 2);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(out, text, len);
	out[len] = '\n';
	out[len + 1] = '\0';
	*ret_text = out;
	r = 0;
out:
	free(text);
	json_decref(root);
	return r;
}

/* ---- decoding ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int bad(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Copy string member name of obj into buf.  Absent: "" if optional. */
static int get_str(json_t *obj, const char *where, const char *name, bool required, char *buf, size_t len,
		   char *why, size_t why_len)
{
	json_t *v = json_object_get(obj, name);
	size_t n;

	buf[0] = '\0';
	if (!v)
		return required ? bad(why, why_len, "%s\"%s\" missing", where, name) : 0;
	if (!json_is_string(v))
		return bad(why, why_len, "%s\"%s\" is not a string", where, name);
	n = json_string_length(v);
	if (n >= len)
		return bad(why, why_len, "%s\"%s\" too long (%zu bytes, at most %zu)", where, name, n, len - 1);
	if (memchr(json_string_value(v), '\0', n))
		return bad(why, why_len, "%s\"%s\" holds a NUL byte", where, name);
	memcpy(buf, json_string_value(v), n + 1);
	return 0;
}

/* A value as recorded: it must parse for its key the way the kernel reads it. */
static int get_value(json_t *o, const char *where, const char *name, size_t key, bool *ret_present,
		     char *buf, size_t len, char *why, size_t why_len)
{
	json_t *v = json_object_get(o, name);
	long long parsed[2];
	int r;

	if (json_is_null(v) && ret_present) {
		*ret_present = false;
		buf[0] = '\0';
		return 0;
	}
	r = get_str(o, where, name, true, buf, len, why, why_len);
	if (r < 0)
		return r;
	if (key_parse_value(&key_table[key], buf, parsed) < 0)
		return bad(why, why_len, "%s\"%s\": '%s' is not a value of %s", where, name, buf, key_table[key].name);
	if (ret_present)
		*ret_present = true;
	return 0;
}

static int decode_key(json_t *o, size_t i, struct txn_entry_key *k, const struct txn_entry_key *before,
		      char *why, size_t why_len)
{
	char where[32], name[128];
	const char *member;
	json_t *v;
	int idx, r;

	snprintf(where, sizeof(where), "keys[%zu].", i);
	if (!json_is_object(o))
		return bad(why, why_len, "keys[%zu] is not an object", i);
	json_object_foreach(o, member, v) {
		if (strcmp(member, "key") != 0 && strcmp(member, "old") != 0 && strcmp(member, "new") != 0)
			return bad(why, why_len, "%sunknown member \"%s\"", where, member);
	}
	r = get_str(o, where, "key", true, name, sizeof(name), why, why_len);
	if (r < 0)
		return r;
	/* docs/SECURITY.md: a name from disk is looked up before anything uses it. */
	idx = key_index(name);
	if (idx < 0 || !key_table[idx].writable || strcmp(key_table[idx].name, name) != 0)
		return bad(why, why_len, "%s\"key\": '%s' is not a writable key", where, name);
	for (size_t j = 0; j < i; j++)
		if (before[j].key == (size_t) idx)
			return bad(why, why_len, "%s\"key\": '%s' listed twice", where, name);
	k->key = (size_t) idx;
	if (!json_object_get(o, "old"))
		return bad(why, why_len, "%s\"old\" missing", where);
	r = get_value(o, where, "old", k->key, &k->had_old, k->old_value, sizeof(k->old_value), why, why_len);
	if (r < 0)
		return r;
	return get_value(o, where, "new", k->key, NULL, k->new_value, sizeof(k->new_value), why, why_len);
}

static int decode_keys(json_t *arr, struct txn_entry *e, char *why, size_t why_len)
{
	size_t n;
	int r;

	if (!json_is_array(arr))
		return bad(why, why_len, "\"keys\" %s", arr ? "is not an array" : "missing");
	n = json_array_size(arr);
	if (n > key_count)
		return bad(why, why_len, "\"keys\" has %zu entries, the key table only %zu", n, key_count);
	e->keys = n ? calloc(n, sizeof(*e->keys)) : NULL;
	if (n && !e->keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = decode_key(json_array_get(arr, i), i, &e->keys[i], e->keys, why, why_len);
		if (r < 0)
			return r;
		e->n_keys = i + 1;
	}
	return 0;
}

static int decode_file(json_t *file, struct txn_entry *e, char *why, size_t why_len)
{
	const char *member;
	json_t *v;
	int r;

	if (!json_is_object(file))
		return bad(why, why_len, "\"file\" %s", file ? "is not an object" : "missing");
	json_object_foreach(file, member, v) {
		if (strcmp(member, "path") != 0 && strcmp(member, "existed") != 0 && strcmp(member, "mode") != 0 &&
		    strcmp(member, "uid") != 0 && strcmp(member, "gid") != 0)
			return bad(why, why_len, "file.unknown member \"%s\"", member);
	}
	r = get_str(file, "file.", "path", true, e->file_path, sizeof(e->file_path), why, why_len);
	if (r < 0)
		return r;
	v = json_object_get(file, "existed");
	if (!json_is_boolean(v))
		return bad(why, why_len, "file.\"existed\" is not true or false");
	e->file_existed = json_is_true(v);
	/* Optional: entries written before it was recorded lack it. */
	v = json_object_get(file, "mode");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 07777)
			return bad(why, why_len, "file.\"mode\" is not a permission mode");
		e->file_mode = (unsigned) json_integer_value(v);
	}
	{
		json_t *u = json_object_get(file, "uid"), *g = json_object_get(file, "gid");

		if (u || g) {
			if (!json_is_integer(u) || !json_is_integer(g) || json_integer_value(u) < 0 ||
			    json_integer_value(g) < 0 || json_integer_value(u) > 0xfffffffe ||
			    json_integer_value(g) > 0xfffffffe)
				return bad(why, why_len, "file.\"uid\" and \"gid\" are not both user and group ids");
			e->file_owner_known = true;
			e->file_uid = (uid_t) json_integer_value(u);
			e->file_gid = (gid_t) json_integer_value(g);
		}
	}
	return 0;
}

static int decode_root(json_t *root, const char *want_id, struct txn_entry *e, uid_t *ret_uid, char *why,
		       size_t why_len)
{
	const char *member;
	json_t *v;
	int r;

	if (!json_is_object(root))
		return bad(why, why_len, "not a JSON object");
	json_object_foreach(root, member, v) {
		if (!in_list(member, top_fields, sizeof(top_fields) / sizeof(top_fields[0])))
			return bad(why, why_len, "unknown member \"%s\"", member);
	}
	v = json_object_get(root, "schema");
	if (!json_is_integer(v) || json_integer_value(v) != MANIFEST_SCHEMA)
		return bad(why, why_len, "\"schema\" is not %d", MANIFEST_SCHEMA);
	if ((r = get_str(root, "", "id", true, e->id, sizeof(e->id), why, why_len)) < 0 ||
	    (r = get_str(root, "", "action", true, e->action, sizeof(e->action), why, why_len)) < 0 ||
	    (r = get_str(root, "", "profile", true, e->profile, sizeof(e->profile), why, why_len)) < 0 ||
	    (r = get_str(root, "", "target", false, e->target, sizeof(e->target), why, why_len)) < 0 ||
	    (r = get_str(root, "", "user", true, e->user, sizeof(e->user), why, why_len)) < 0 ||
	    (r = get_str(root, "", "time", true, e->time, sizeof(e->time), why, why_len)) < 0 ||
	    (r = get_str(root, "", "status", true, e->status, sizeof(e->status), why, why_len)) < 0 ||
	    (r = get_str(root, "", "error", false, e->error, sizeof(e->error), why, why_len)) < 0)
		return r;
	if (!manifest_id_valid(e->id) || strcmp(e->id, want_id) != 0)
		return bad(why, why_len, "\"id\" '%s' does not name this entry", e->id);
	if (!in_list(e->action, actions, sizeof(actions) / sizeof(actions[0])))
		return bad(why, why_len, "\"action\": unknown action '%s'", e->action);
	if (!manifest_status_valid(e->status))
		return bad(why, why_len, "\"status\": unknown status '%s'", e->status);
	if (strcmp(e->action, "rollback") == 0 ? !manifest_id_valid(e->target) : e->target[0] != '\0')
		return bad(why, why_len, "\"target\" '%s' does not fit action '%s'", e->target, e->action);
	v = json_object_get(root, "uid");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (json_int_t) UINT32_MAX)
		return bad(why, why_len, "\"uid\" is not a user id");
	*ret_uid = (uid_t) json_integer_value(v);
	r = decode_file(json_object_get(root, "file"), e, why, why_len);
	if (r < 0)
		return r;
	return decode_keys(json_object_get(root, "keys"), e, why, why_len);
}

int manifest_decode(const char *text, size_t len, const char *want_id, struct txn_entry *ret, uid_t *ret_uid,
		    char *why, size_t why_len)
{
	struct txn_entry e;
	json_error_t jerr;
	json_t *root;
	uid_t uid = 0;
	int r;

	memset(&e, 0, sizeof(e));
	if (len > MANIFEST_MAX)
		return bad(why, why_len, "larger than %d bytes", MANIFEST_MAX);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return bad(why, why_len, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	r = decode_root(root, want_id, &e, &uid, why, why_len);
	json_decref(root);
	if (r < 0) {
		manifest_entry_release(&e);
		return r;
	}
	*ret = e;
	*ret_uid = uid;
	return 0;
}

void manifest_entry_release(struct txn_entry *e)
{
	if (!e)
		return;
	free(e->keys);
	e->keys = NULL;
	e->n_keys = 0;
}
