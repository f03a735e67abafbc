/* A uid's user name, the one lookup of the user database (README.md,
 * "Static binary": what the static build reads instead of NSS). */
#ifndef TCPTUNE_ADVISOR_USERDB_H
#define TCPTUNE_ADVISOR_USERDB_H

#include <stddef.h>
#include <sys/types.h>

/* Write uid's user name into buf.  The normal build asks NSS (getpwuid_r:
 * LDAP, sssd, systemd-userdb as nsswitch.conf says); the static build
 * (TCPTUNE_STATIC) reads /etc/passwd itself with fgetpwent_r, because glibc's
 * NSS cannot be linked statically.  Returns 0, -ENOENT (no such user, or no
 * /etc/passwd: an empty root), -ENAMETOOLONG (name longer than len - 1) or
 * another negative errno. */
int user_name(uid_t uid, char *buf, size_t len);

#endif
