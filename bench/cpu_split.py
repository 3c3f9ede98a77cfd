#!/usr/bin/env python3
"""CPU split by process name over a time window, from /proc (no sysstat needed).

    cpu_split.py snap FILE [PID]    # record per-process CPU ticks + /proc/stat
    cpu_split.py diff A B           # print where the CPU went between A and B

bench/run.sh takes a snapshot right before and right after each measured wrk
run. `diff` groups processes by comm (every PostgreSQL backend is "postgres",
every nginx process "nginx", ...) and prints one line:

    CPU wall=10.0s busy=196% (user 61% sys 126% steal 3%) | wrk 62% shorty 71% ...

Percentages are of one CPU (200% = both CPUs of a 2-core box busy). A process
that exited inside the window loses its ticks (none of ours do); one that
started inside it is counted from zero. Threads are included (per-process
utime+stime covers all threads). wrk exits before the second snapshot, so its
time is taken from PID's (run.sh's shell) cutime+cstime, which grows by the
CPU time of every child the shell reaps: wrk, plus a few ms of helpers. That
bucket is printed as "wrk".
"""
import json
import os
import sys
import time


def snap(path, parent=None):
    procs = {}
    children = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                data = f.read()
        except OSError:
            continue
        # comm is in parentheses and may contain spaces
        lp, rp = data.index("("), data.rindex(")")
        comm = data[lp + 1 : rp]
        if comm.startswith("kworker/"):
            comm = "kworker"  # kworker/0:1-events etc.: one bucket
        rest = data[rp + 2 :].split()
        utime, stime = int(rest[11]), int(rest[12])
        procs[pid] = [comm, utime + stime]
        if pid == parent:
            children = int(rest[13]) + int(rest[14])
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    json.dump({"t": time.monotonic(), "cpu": cpu, "procs": procs, "children": children}, open(path, "w"))


def diff(a_path, b_path):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    hz = os.sysconf("SC_CLK_TCK")
    wall = b["t"] - a["t"]
    if wall <= 0:
        print("CPU n/a")
        return
    by_comm = {}
    for pid, (comm, ticks) in b["procs"].items():
        before = a["procs"].get(pid)
        d = ticks - (before[1] if before and before[0] == comm else 0)
        if d > 0:
            by_comm[comm] = by_comm.get(comm, 0) + d
    reaped = b.get("children", 0) - a.get("children", 0)
    if reaped > 0:
        by_comm["wrk"] = by_comm.get("wrk", 0) + reaped
    # /proc/stat: user nice system idle iowait irq softirq steal guest guest_nice
    dc = [y - x for x, y in zip(a["cpu"], b["cpu"])]
    pct = lambda ticks: 100.0 * ticks / hz / wall
    user, nice, system, idle, iowait, irq, softirq, steal = (dc + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    parts = sorted(by_comm.items(), key=lambda kv: -kv[1])
    named = " ".join(f"{c} {pct(t):.0f}%" for c, t in parts if pct(t) >= 1.0)
    print(
        f"CPU wall={wall:.1f}s busy={pct(busy):.0f}% (user {pct(user + nice):.0f}% "
        f"sys+irq {pct(system + irq + softirq):.0f}% iowait {pct(iowait):.0f}% "
        f"steal {pct(steal):.0f}% idle {pct(idle):.0f}%) | {named}"
    )


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "snap":
        snap(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None)
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
