/* Which container a process belongs to, told by its cgroup path
 * (/proc/PID/cgroup): Docker, containerd under Kubernetes, podman and
 * systemd-nspawn name their cgroups after the container (docs/KERNEL.md
 * §14.3).  Used to name the container behind a network namespace and behind
 * a CLOSE_WAIT holder. */
#ifndef TCPTUNE_ADVISOR_SNAP_CGROUP_H
#define TCPTUNE_ADVISOR_SNAP_CGROUP_H

#include <stddef.h>

/* From the text of a /proc/PID/cgroup file, write a label such as
 * "docker 3f2a9c1b7d4e", "kubernetes pod 5d3c...-... container 9b1f2e3a4c5d",
 * "podman 77aa00bb11cc" or "systemd-nspawn web1" into buf (ids shortened to
 * 12 characters, as `docker ps` shows them).  Returns 1 when a container was
 * recognised, 0 when not (buf ""), -EOVERFLOW when buf is too small. */
int cgroup_container_parse(const char *text, char *buf, size_t len);

/* Same for process pid, reading /proc/PID/cgroup.  Returns 1, 0, or a
 * negative errno when the file cannot be read. */
int cgroup_container_of_pid(int pid, char *buf, size_t len);

#endif
