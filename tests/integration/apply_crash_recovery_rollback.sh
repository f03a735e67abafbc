#!/bin/bash
# apply_crash_recovery_rollback.sh: the SIGKILL sweep of apply_crash_recovery.sh
# (read its header), part "rollback": the kill points of `tcptune rollback`, each followed
# by a rollback or an apply.
# TT_FULL=1 (make crash-sweep) runs every kill point, not the default sample.
# Exit 0 pass, 1 fail, 77 skip.  TCPTUNE=/path overrides build/tcptune.
TT_CRASH_PART=rollback
. "$(dirname "$0")/apply_crash_recovery.sh"
