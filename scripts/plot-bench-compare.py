"""Bars per system per workload from `conclave bench compare` rows (JSON lines): throughput on a
log scale (the systems differ by orders of magnitude), p99 latency in a second panel.
Usage: plot-bench-compare.py ROWS.jsonl OUT.png "machine and date"
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
systems = ["conclave", "etcd", "redis"]
colors = {"conclave": "#2b8cbe", "etcd": "#f03b20", "redis": "#31a354"}
workloads = []
values = {}
for row in rows:
    name = row["name"]
    if name.strip().startswith("ratio") or ": " not in name:
        continue
    workload, system = name.rsplit(": ", 1)
    system = system.split(" ")[0]
    if workload not in workloads:
        workloads.append(workload)
    values[(workload, system)] = (row["value"], row["p99"] / 1e6)  # p99 in ms

figure, (top, bottom) = plt.subplots(2, 1, figsize=(13, 8), sharex=True)
width = 0.27
for offset, system in enumerate(systems):
    xs = [i + (offset - 1) * width for i in range(len(workloads))]
    top.bar(xs, [values.get((w, system), (0, 0))[0] for w in workloads], width, label=system, color=colors[system])
    bottom.bar(xs, [values.get((w, system), (0, 0))[1] for w in workloads], width, label=system, color=colors[system])
top.set_yscale("log")
top.set_ylabel("operations or lock cycles / s (log)")
bottom.set_yscale("log")
bottom.set_ylabel("p99 latency, ms (log)")
bottom.set_xticks(range(len(workloads)))
bottom.set_xticklabels([w.replace(", ", "\n", 1) for w in workloads], fontsize=8)
top.legend()
top.set_title("Conclave (3 nodes, fsync) vs etcd (3 members, fsync) vs Redis (AOF everysec) — " + sys.argv[3], fontsize=10)
figure.tight_layout()
figure.savefig(sys.argv[2], dpi=90)
