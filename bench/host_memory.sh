# shellcheck shell=bash disable=SC2034  # page_reporting_note is read by the scripts that source this
# Sourced by the benchmarks: keeps memory freed by one run in this VM until
# the next run can reuse it.
#
# Why: on a VM whose balloon device does free page reporting (virtio-balloon
# with the page_reporting module), pages freed inside the guest are handed back
# to the host at once (min_free_ms = 0), and the next process that needs them
# (page cache for an output file, a read buffer) faults them back in from the
# host. A 512 MiB output then costs 0.1 to 1.3 s more, depending only on
# whether the allocator hands out reported pages, and that lands on whichever
# command runs next, whatever the tool. Measured here: 8 runs of one
# conversion spread from 0.11 to 1.48 s with reporting at once, and were all
# 0.16 s (one 0.27 s) with freed pages kept for 10 s.
#
# hold_freed_pages raises min_free_ms (how long a freed page stays in the
# guest before it is reported) for the duration of the benchmark, and puts the
# old value back on exit. Where the knob does not exist (bare metal, another
# hypervisor) or cannot be written (not root), it does nothing and says so.
# BENCH_KEEP_PAGE_REPORTING=1 leaves the machine as it is.
page_reporting_knob=/sys/module/page_reporting/parameters/min_free_ms
page_reporting_note="free page reporting: not present"

page_reporting_old=

# Call from the script's EXIT trap when it sets one of its own.
restore_page_reporting() {
  [ -n "$page_reporting_old" ] || return 0
  echo "$page_reporting_old" >"$page_reporting_knob" 2>/dev/null || true
  page_reporting_old=
}

hold_freed_pages() {
  [ -e "$page_reporting_knob" ] || return 0
  local old
  old=$(cat "$page_reporting_knob")
  if [ "${BENCH_KEEP_PAGE_REPORTING:-0}" = 1 ]; then
    page_reporting_note="free page reporting: min_free_ms $old (left as it was)"
    return 0
  fi
  if ! echo 10000 >"$page_reporting_knob" 2>/dev/null; then
    page_reporting_note="free page reporting: min_free_ms $old (not writable: numbers are noisier)"
    return 0
  fi
  page_reporting_old=$old
  page_reporting_note="free page reporting: min_free_ms raised from $old to 10000 for the run"
  trap restore_page_reporting EXIT
}
