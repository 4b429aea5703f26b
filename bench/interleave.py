#!/usr/bin/python3
"""Times shell commands in interleaved rounds (the benchmark loop of bench/*.sh).

hyperfine runs all the runs of one command, then all the runs of the next. On a
machine shared with other work, the load then changes between commands and
the comparison measures the neighbours. Here every round runs every command
once, starting with a different command each round, so each command sees the
same mix of load. Before each run PREPARE runs (e.g. `rm -f out; sync`, not
timed), after it CLEANUP. The first WARMUP rounds are not recorded.

Per command: median, min and max of the wall time, the median CPU time
(user + sys of the command and its children, from wait4), which the load does
not inflate the way it inflates wall time, and the peak RSS.

Usage: interleave.py [--runs N] [--warmup W] [--prepare CMD] [--cleanup CMD]
                     --json OUT NAME CMD [NAME CMD ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_timed(cmd):
    # A simple command is exec'd by the shell, so the numbers are its own.
    simple = not any(op in cmd for op in ("&&", "||", ";", "&", "|"))
    argv = ["bash", "-c", ("exec " + cmd) if simple else cmd]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed ({os.waitstatus_to_exitcode(status)}): {cmd}\n{err}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--prepare", default="")
    ap.add_argument("--cleanup", default="")
    ap.add_argument("--json", required=True)
    ap.add_argument("pairs", nargs="+")
    a = ap.parse_args()
    if len(a.pairs) % 2:
        sys.exit("NAME CMD pairs expected")
    cmds = list(zip(a.pairs[0::2], a.pairs[1::2]))
    res = {n: {"wall": [], "cpu": [], "rss_kib": 0} for n, _ in cmds}
    for r in range(a.warmup + a.runs):
        order = cmds[r % len(cmds):] + cmds[:r % len(cmds)]
        for name, cmd in order:
            if a.prepare:
                subprocess.run(["bash", "-c", a.prepare], check=True)
            wall, cpu, rss = run_timed(cmd)
            if a.cleanup:
                subprocess.run(["bash", "-c", a.cleanup], check=True)
            if r < a.warmup:
                continue
            res[name]["wall"].append(wall)
            res[name]["cpu"].append(cpu)
            res[name]["rss_kib"] = max(res[name]["rss_kib"], rss)
            print(f"round {r - a.warmup + 1}/{a.runs} {name}: {wall:.3f} s wall, {cpu:.3f} s CPU",
                  file=sys.stderr)
    out = []
    for name, cmd in cmds:
        x = res[name]
        out.append({"name": name, "command": cmd, "runs": a.runs, "wall": x["wall"], "cpu": x["cpu"],
                    "median": statistics.median(x["wall"]), "min": min(x["wall"]), "max": max(x["wall"]),
                    "cpu_median": statistics.median(x["cpu"]), "rss_kib": x["rss_kib"]})
    with open(a.json, "w") as f:
        json.dump({"results": out}, f, indent=1)


if __name__ == "__main__":
    main()
