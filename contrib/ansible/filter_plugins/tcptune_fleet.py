# tcptune_fleet: the fleet summary of audit.yml, an Ansible filter plugin
# (ansible-core loads filter_plugins/ beside the playbook).  See README.md,
# "Audit a fleet".
#
#   {{ ansible_play_hosts_all | tcptune_fleet(hostvars, fail_on) }}
#
# takes each host's registered `tcptune_check` (the result of
# `tcptune check --format json`) and returns
#   {"hosts": {HOST: {"status", "rc", "findings": [{"id", "severity"}],
#                     "error", "report"}},
#    "by_status": [{"status", "hosts": [...]}],      worst first
#    "by_finding": [{"id", "severity", "hosts": [...]}],  worst first
#    "failed": [HOST, ...],                          status in fail_on
#    "lines": [...]}                                 the summary to print
from __future__ import annotations

import json

# Worst first.  A host that could not be checked ranks above a warning: its
# state is unknown, and it may be critical.
STATUS_ORDER = ["critical", "unreachable", "error", "unknown", "warning", "ok"]
SEVERITY_ORDER = ["critical", "warning", "info"]
# Host names shown on one summary line; the JSON report lists all.
NAMES_SHOWN = 6


def _rank(order, value):
    return order.index(value) if value in order else len(order)


def _names(hosts):
    shown = ", ".join(hosts[:NAMES_SHOWN])
    if len(hosts) > NAMES_SHOWN:
        shown += f" (+{len(hosts) - NAMES_SHOWN} more)"
    return shown


def _host(result):
    """One host's entry from its registered command result (or None)."""
    if not isinstance(result, dict) or "rc" not in result:
        return {"status": "unreachable", "rc": None, "findings": [], "error": "no result", "report": None}
    rc = result.get("rc")
    stdout = result.get("stdout") or ""
    stderr = (result.get("stderr") or result.get("msg") or "").strip()
    try:
        report = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        report = None
    if not isinstance(report, dict) or "status" not in report:
        # tcptune exits 3 with one stderr line and no report when it cannot
        # check at all (a missing --root); anything else is not tcptune.
        status = "unknown" if rc == 3 else "error"
        return {"status": status, "rc": rc, "findings": [], "error": stderr.splitlines()[:1] and stderr.splitlines()[0] or f"exit {rc}, no report", "report": None}
    findings = [{"id": f.get("id"), "severity": f.get("severity")}
                for f in report.get("findings") or [] if not f.get("ignored")]
    return {"status": report.get("status") or "unknown", "rc": rc, "findings": findings,
            "error": stderr.splitlines()[0] if stderr else None, "report": report}


def tcptune_fleet(hosts, hostvars, fail_on=("critical",)):
    entries = {}
    for h in hosts:
        try:
            result = hostvars[h].get("tcptune_check")
        except (KeyError, AttributeError):
            result = None
        entries[h] = _host(result)

    by_status = {}
    by_finding = {}
    for h in sorted(entries):
        e = entries[h]
        by_status.setdefault(e["status"], []).append(h)
        for f in e["findings"]:
            key = (f["id"], f["severity"])
            if h not in by_finding.setdefault(key, []):
                by_finding[key].append(h)
    status_list = [{"status": s, "hosts": by_status[s]}
                   for s in sorted(by_status, key=lambda s: (_rank(STATUS_ORDER, s), s))]
    finding_list = [{"id": k[0], "severity": k[1], "hosts": v}
                    for k, v in sorted(by_finding.items(),
                                       key=lambda kv: (_rank(SEVERITY_ORDER, kv[0][1]), -len(kv[1]), kv[0][0]))]
    failed = [h for h in sorted(entries) if entries[h]["status"] in fail_on]

    counts = ", ".join(f"{len(s['hosts'])} {s['status']}" for s in status_list)
    lines = [f"tcptune fleet audit: {len(entries)} hosts: {counts}", "hosts per status (worst first):"]
    for s in status_list:
        lines.append(f"  {s['status']:<11} {len(s['hosts']):>4}  {_names(s['hosts'])}")
    lines.append("hosts per finding (worst first):" if finding_list else "findings: none")
    for f in finding_list:
        lines.append(f"  {f['severity']:<8} {f['id']:<26} {len(f['hosts']):>4}  {_names(f['hosts'])}")
    unchecked = [h for h in sorted(entries) if entries[h]["status"] in ("unreachable", "error", "unknown")]
    if unchecked:
        lines.append("hosts not checked, and why:")
    for h in unchecked:
        lines.append(f"  {h}: {entries[h]['status']}: {entries[h]['error']}")
    return {"hosts": entries, "by_status": status_list, "by_finding": finding_list,
            "failed": failed, "lines": lines}


class FilterModule:
    def filters(self):
        return {"tcptune_fleet": tcptune_fleet}
