/* /proc/net/tcp{,6} parser; see snap_proctcp.h. */
#include "snap_proctcp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rootfs.h"

#define MAX_LINE 512

/* Parse min..max hex digits from *p into *ret and advance *p. */
static int hex_field(const char **p, size_t min, size_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	size_t n = 0;

	for (; n < max; n++) {
		char ch = s[n];
		int d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else
			break;
		v = v * 16 + (uint64_t) d;
	}
	if (n < min)
		return -EINVAL;
	*ret = v;
	*p = s + n;
	return 0;
}

static int dec_field(const char **p, uint64_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		if (v > (max - (uint64_t) (s[n] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t) (s[n] - '0');
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	*p = s + n;
	return 0;
}

static void skip_blanks(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* "0100007F:1F90": the address words are the kernel's in-memory __be32
 * values printed as host integers, so copying the parsed host integer back
 * restores the network-order bytes. */
static int addr_port(const char **p, int family, uint8_t addr[16], uint16_t *port)
{
	size_t words = family == AF_INET ? 1 : 4;
	uint64_t v;

	for (size_t i = 0; i < words; i++) {
		uint32_t w;
		if (hex_field(p, 8, 8, &v) < 0)
			return -EINVAL;
		w = (uint32_t) v;
		memcpy(addr + 4 * i, &w, 4);
	}
	if (expect(p, ':') < 0 || hex_field(p, 4, 4, &v) < 0)
		return -EINVAL;
	*port = (uint16_t) v;
	return 0;
}

int proctcp_parse_line(const char *line, int family, struct sock_rec *ret)
{
	const char *p = line;
	struct sock_rec r;
	uint64_t v, sl;

	memset(&r, 0, sizeof(r));
	r.family = (uint8_t) family;
	skip_blanks(&p);
	if (dec_field(&p, UINT32_MAX, &sl) < 0 || expect(&p, ':') < 0)
		return -EINVAL;
	skip_blanks(&p);
	if (addr_port(&p, family, r.laddr, &r.lport) < 0)
		return -EINVAL;
	skip_blanks(&p);
	if (addr_port(&p, family, r.raddr, &r.rport) < 0)
		return -EINVAL;
	skip_blanks(&p);
	if (hex_field(&p, 2, 2, &v) < 0 || v < 1 || v > TCPS_MAX)
		return -EINVAL;
	r.state = (uint8_t) v;
	skip_blanks(&p);
	if (hex_field(&p, 1, 8, &v) < 0)
		return -EINVAL;
	r.wqueue = (uint32_t) v;
	if (expect(&p, ':') < 0 || hex_field(&p, 1, 8, &v) < 0)
		return -EINVAL;
	r.rqueue = (uint32_t) v;
	skip_blanks(&p);
	if (hex_field(&p, 2, 2, &v) < 0 || v > 4)
		return -EINVAL;
	r.timer = (uint8_t) v;
	if (expect(&p, ':') < 0 || hex_field(&p, 1, 16, &v) < 0)	/* tm->when */
		return -EINVAL;
	skip_blanks(&p);
	if (hex_field(&p, 1, 8, &v) < 0)				/* retrnsmt */
		return -EINVAL;
	r.retrans = v > UINT8_MAX ? UINT8_MAX : (uint8_t) v;
	skip_blanks(&p);
	if (dec_field(&p, UINT32_MAX, &v) < 0)				/* uid */
		return -EINVAL;
	r.uid = (uint32_t) v;
	skip_blanks(&p);
	if (dec_field(&p, UINT32_MAX, &v) < 0)				/* timeout */
		return -EINVAL;
	skip_blanks(&p);
	if (dec_field(&p, UINT64_MAX, &v) < 0)				/* inode */
		return -EINVAL;
	r.inode = v;
	if (*p != ' ' && *p != '\n' && *p != '\0')
		return -EINVAL;
	*ret = r;
	return 0;
}

int proctcp_read(int rootfd, const char *rel, int family, struct census *c, unsigned *ret_line)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	FILE *f;
	int fd, r = 0;

	fd = rootfs_open_regular(rootfd, rel);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		struct sock_rec s;

		lineno++;
		/* Longer than any line the kernel prints, or a NUL that would
		 * hide the rest of the line from the parser. */
		if (n > MAX_LINE || memchr(line, '\0', (size_t) n)) {
			r = -EBADMSG;
			goto out;
		}
		if (lineno == 1) {
			if (!strstr(line, "local_address") || !strstr(line, "inode")) {
				r = -EBADMSG;
				goto out;
			}
			continue;
		}
		if (proctcp_parse_line(line, family, &s) < 0) {
			r = -EBADMSG;
			goto out;
		}
		r = census_add(c, &s);
		if (r < 0)
			goto out;
	}
	if (ferror(f))
		r = -EIO;
	else if (lineno == 0)
		r = -EBADMSG;	/* not even a header */
out:
	if (r == -EBADMSG && ret_line)
		*ret_line = lineno ? lineno : 1;
	free(line);
	fclose(f);
	return r;
}
