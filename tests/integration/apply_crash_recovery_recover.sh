#!/bin/bash
# apply_crash_recovery_recover.sh: the SIGKILL sweep of apply_crash_recovery.sh
# (read its header), part "recover": the kill points of the apply that recovers an
# apply killed mid-way.
# TT_FULL=1 (make crash-sweep) runs every kill point, not the default sample.
# Exit 0 pass, 1 fail, 77 skip.  TCPTUNE=/path overrides build/tcptune.
TT_CRASH_PART=recover
. "$(dirname "$0")/apply_crash_recovery.sh"
