"""The FinOps report: Markdown and PNG charts from a benchmark run's ``results.json``.

Only formatting lives here; every figure comes from :mod:`.analysis` and :mod:`.arithmetic`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .analysis import (
    GPU_EFFICIENCY,
    RESERVED_VCPUS,
    WORKING_HOURS_PER_MONTH,
    Measured,
    break_even_rows,
    cost_rows,
    scale_to_zero_rows,
    serving_rps_per_vcpu,
)
from .arithmetic import LoadPoint, best_under_slo
from .stacks import inventory

SLO_MS = 200.0
REPLICA_VCPUS = 1.0
"""CPU request of one model replica (the endpoint default)."""
PUBLISHED = Path(__file__).with_name("data") / "gpu_published.yaml"


def _measured(results: dict[str, Any]) -> list[Measured]:
    return [
        Measured(m["key"], m["flops_per_request"], [LoadPoint(**p) for p in m["points"]], m["cold_start"]["total_s"])
        for m in results["models"]
    ]


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _usd(x: float) -> str:
    return "n/a" if x == float("inf") else (f"${x:.5f}" if x < 0.01 else f"${x:.4f}")


def _charts(results: dict[str, Any], measured: list[Measured], rows: list[dict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for m in measured:
        cs = [p.concurrency for p in m.points]
        a.plot(cs, [p.throughput_rps for p in m.points], marker="o", label=m.key)
        b.plot(cs, [p.p95_ms for p in m.points], marker="o", label=m.key)
    b.axhline(SLO_MS, color="red", linestyle="--", label="p95 SLO")
    for ax, title, unit in ((a, "Throughput", "requests/s"), (b, "p95 latency", "ms")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput-latency.png", dpi=90)
    names.append("throughput-latency.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 4))
    models = [m.key for m in measured]
    nodes = sorted({r["node"] for r in rows}, key=lambda n: (next(r["hardware"] for r in rows if r["node"] == n), n))
    width = 0.8 / len(models)
    for i, key in enumerate(models):
        vals = [next(r["on_demand_per_1k"] for r in rows if r["model"] == key and r["node"] == n) for n in nodes]
        ax.bar([j + i * width for j in range(len(nodes))], vals, width, label=key)
    ax.set_xticks([j + width * (len(models) - 1) / 2 for j in range(len(nodes))], nodes, rotation=20, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("USD per 1,000 inferences (on-demand, full use)")
    ax.set_title("Cost per 1,000 inferences by node type (GPU types: estimated, see text)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "cost-per-1k.png", dpi=90)
    names.append("cost-per-1k.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    cold = [results["models"][i]["cold_start"] for i in range(len(measured))]
    bottom = [0.0] * len(cold)
    for phase, label in (
        ("pull_s", "pull from MLflow"),
        ("ready_s", "start to ready"),
        ("first_inference_s", "first inference"),
    ):
        vals = [c[phase] for c in cold]
        ax.barh(models, vals, left=bottom, label=label)
        bottom = [x + y for x, y in zip(bottom, vals, strict=True)]
    ax.set_xlabel("seconds")
    ax.set_title("Cold start: process start to first answer")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "cold-start.png", dpi=90)
    names.append("cold-start.png")
    plt.close(fig)
    return names


def _load_table(m: Measured, results_model: dict[str, Any]) -> list[str]:
    best = best_under_slo(m.points, SLO_MS)
    lines = [
        f"**{m.key}**: {results_model['title']}; accuracy {results_model['accuracy']:.4f}, artifact "
        f"{results_model['size_kib']:.0f} KiB",
        "",
        "| clients | req/s | p50 ms | p95 ms | p99 ms | errors | server vCPUs used | req/s per vCPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in m.points:
        mark = " **best**" if p is best else ""
        lines.append(
            f"| {p.concurrency} | {p.throughput_rps:.0f} | {p.p50_ms:.1f} | {p.p95_ms:.1f} | {p.p99_ms:.1f} | "
            f"{p.errors} | {p.vcpus_used:.2f} | {p.rps_per_vcpu:.0f}{mark} |"
        )
    return [*lines, ""]


def _conclusion(
    measured: list[Measured], rows: list[dict], even: list[dict], results_models: dict[str, dict[str, Any]]
) -> list[str]:
    heavy = next((m for m in measured if m.key == "mlp"), measured[-1])
    cpu = min(
        (r for r in rows if r["hardware"] == "cpu" and r["model"] == heavy.key), key=lambda r: r["on_demand_per_1k"]
    )
    gpu = min(
        (r for r in rows if r["hardware"] == "gpu" and r["model"] == heavy.key), key=lambda r: r["on_demand_per_1k"]
    )
    pays = [e for e in even if e["break_even_rps"] is not None and not e["spot"]]
    need = min((e["speedup_needed"] for e in even if not e["spot"]), default=0.0)
    ratio = gpu["on_demand_per_1k"] / cpu["on_demand_per_1k"] if cpu["on_demand_per_1k"] else float("inf")
    lines = [
        f"For the models measured here, no: the cheapest CPU node ({cpu['node']}) serves the {heavy.key} at "
        f"{_usd(cpu['on_demand_per_1k'])} per 1,000 inferences, the cheapest GPU node ({gpu['node']}, estimated) at "
        f"{_usd(gpu['on_demand_per_1k'])}, {ratio:.1f} times as much. "
        + (
            "No GPU node type reaches a break-even rate: one GPU node saturates (on the serving path its vCPUs run) "
            "before it costs less than the CPU nodes for the same rate."
            if not pays
            else f"{len(pays)} GPU/CPU pairs break even (see the table)."
        ),
        "",
        "The reason is where the time goes. A request to a small tabular model spends almost all of it in the HTTP "
        "serving path (parsing, decoding, encoding), which runs on CPU whichever node the pod is on; moving the "
        "matrix work to a GPU removes the smallest part. A GPU node pays only when one node serves at least "
        f"{need:.0f} times what one CPU node serves at the same p95 (the price ratio of the node types, on-demand; "
        "spot ratios are in the table). That happens for models whose per-request compute dwarfs the serving path: "
        "deep networks (vision, language, embeddings), served with adaptive batching so the GPU sees large batches; "
        "the published ratios in the GPU section are of that kind.",
        "",
        "So: serve tabular and small models on CPU, "
        + _quantization_clause(measured, results_models)
        + ", let non-critical ones scale to zero; put deep networks with sustained traffic on GPUs, share a GPU "
        "among small deep models (time-slicing, MIG on GKE), and prefer spot GPUs where an interruption only costs "
        "a retry.",
    ]
    return lines


def _quantization_clause(measured: list[Measured], models: dict[str, dict[str, Any]]) -> str:
    """What the int8 substitute did against the full-precision MLP in this run, in words."""
    if "mlp" not in models or "mlp-int8" not in models:
        return "try an int8 substitute"
    full, int8 = models["mlp"], models["mlp-int8"]
    best = {m.key: best_under_slo(m.points, SLO_MS) for m in measured}
    rate = {k: (b.rps_per_vcpu if b else 0.0) for k, b in best.items()}
    same = abs(full["accuracy"] - int8["accuracy"]) < 0.005
    clause = f"consider int8 ONNX (here {'the same' if same else 'a different'} accuracy, "
    clause += f"{int8['accuracy']:.4f} against {full['accuracy']:.4f}"
    if full.get("compute_ms") and int8.get("compute_ms"):
        clause += f", {full['compute_ms'] / int8['compute_ms']:.0f} times less arithmetic time per request"
    change = rate["mlp-int8"] / rate["mlp"] - 1 if rate.get("mlp") else 0.0
    return clause + f", {change:+.0%} requests per vCPU through MLServer)"


def _cold_start_section(results: dict[str, Any], chart: str) -> list[str]:
    md = [
        "",
        "The int8 model is the float32 ONNX conversion of the same perceptron with ONNX Runtime's dynamic "
        "quantization (int8 weights, activations quantized per batch), served through the same MLflow runtime "
        "(MLflow's ONNX flavour runs ONNX Runtime on CPU). Accuracy is measured on the 540-row held-out split.",
        "",
        "## Cold start",
        "",
        f"![cold start]({{prefix}}{chart})",
        "",
        "| model | pull from MLflow s | start to ready s | first inference s | total s |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in results["models"]:
        c = m["cold_start"]
        md.append(
            f"| {m['key']} | {c['pull_s']:.1f} | {c['ready_s']:.1f} | {c['first_inference_s']:.2f} | "
            f"{c['total_s']:.1f} |"
        )
    return md


def write(results: dict[str, Any], out: Path, report: Path | None = None, image_prefix: str = "") -> Path:
    """Write the charts into ``out`` and the report to ``report`` (default ``out/report.md``), linking the charts
    as ``<image_prefix><name>``; return the report's path."""
    measured = _measured(results)
    serving = serving_rps_per_vcpu(measured, SLO_MS)
    nodes, endpoints = inventory()
    published = yaml.safe_load(PUBLISHED.read_text())
    rows = cost_rows(measured, serving, nodes, published["gpus"], REPLICA_VCPUS, SLO_MS)
    even = break_even_rows(rows, nodes)
    cold = max(m.cold_start_s for m in measured)
    zero = scale_to_zero_rows(endpoints, nodes, cold)
    charts = _charts(results, measured, rows, out)
    mach = results["machine"]
    by_key = {m["key"]: m for m in results["models"]}
    md = [
        "# FinOps report: what 1,000 inferences cost on CPU and GPU",
        "",
        f"Run {results['started']} by `make finops` in {results['elapsed_s']:.0f} s. Machine: {mach['cpus']} CPU "
        f"cores ({mach['model']}), **shared with other work during the run** (load average "
        f"{mach['load_average'][0]:.1f} at the start, {mach['load_average_after'][0]:.1f} at the end), so absolute "
        "figures are pessimistic and vary between runs; throughput per vCPU is computed from the CPU time the server "
        "processes actually used, which the sharing disturbs less. The load generator runs on the same cores.",
        "",
        "## How it was measured",
        "",
        f"Models are trained here on scikit-learn's digits data set, logged and registered in MLflow (SQLite tracking "
        f"store, artifacts on disk), pulled from the registry (`models:/<name>/1`) into an empty folder and served by "
        f"MLServer 1.7.1 with its MLflow runtime, with the container environment the platform's serving runtime and "
        f"InferenceService set (pinned as in `images/mlserver-mlflow/requirements.txt`). Each request is a v2 "
        f"inference of {results['rows_per_request']} rows. A closed-loop load generator (aiohttp) runs "
        f"{results['seconds_per_level']:.0f} s at each of 1, 2, 4, 8, 16 and 32 concurrent clients. Math libraries "
        "use one thread per process (`OMP_NUM_THREADS=1`), as suits a 1-vCPU replica. On a shared machine repeat "
        "runs can differ by a third or more in throughput and latency; the in-process compute time per request "
        "(quantization table) is the stable way to compare the models themselves.",
        "",
        "## Measured CPU serving",
        "",
        f"![throughput and p95 latency]({{prefix}}{charts[0]})",
        "",
    ]
    for m in measured:
        md += _load_table(m, by_key[m.key])
    md += [
        f"**best** marks the load level with the highest throughput per vCPU that kept p95 under {SLO_MS:.0f} ms "
        "without errors.",
        "",
        "## Quantized substitute: int8 against full precision",
        "",
        "| model | accuracy | artifact KiB | model compute per request, ms (in-process) "
        "| best req/s per vCPU (p95 < 200 ms) | p50 ms at 1 client |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in measured:
        best = best_under_slo(m.points, SLO_MS)
        md.append(
            f"| {m.key} | {by_key[m.key]['accuracy']:.4f} | {by_key[m.key]['size_kib']:.0f} | "
            f"{_ms(by_key[m.key].get('compute_ms'))} | {best.rps_per_vcpu if best else 0:.0f} | "
            f"{m.points[0].p50_ms:.1f} |"
        )
    md += _cold_start_section(results, charts[2])
    md += _gpu_section(published)
    md += _cost_section(rows, nodes, charts[1], serving)
    md += _break_even_section(even, results)
    md += _zero_section(zero)
    md += ["## When is GPU serving worth its cost?", "", *_conclusion(measured, rows, even, by_key), ""]
    path = report or out / "report.md"
    md = [line.replace("{prefix}", image_prefix) for line in md]
    path.write_text("\n".join(md))
    return path


def _gpu_section(published: dict[str, Any]) -> list[str]:
    md = [
        "",
        "## GPU figures (published, NOT MEASURED HERE)",
        "",
        "This run had no GPU. The figures below come from `finops/data/gpu_published.yaml`, each with its source "
        f"and date (compiled {published['compiled_on']} from those sources, not fetched from this machine). "
        "Datasheet rates are peaks of the silicon; the studies measured "
        "deep networks on the GPU alone, without an HTTP serving path.",
        "",
        "| GPU | instance types in the stacks | memory GiB | FP32 TFLOPS | INT8 tensor TOPS (dense) | source "
        "| published |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for name, g in published["gpus"].items():
        md.append(
            f"| {name} | {', '.join(g['instances'])} | {g['memory_gib']} | {g['fp32_tflops']} | "
            f"{g['int8_tensor_tops']} | {g['source']} | {g['published']} |"
        )
    md += ["", "| published study | what it measures | source | published |", "|---|---|---|---|"]
    for s in published["studies"]:
        md.append(f"| {s['what']} | {s['measures']} | {s['source']} | {s['published']} |")
    return [*md, ""]


def _cost_section(rows: list[dict], nodes: list, chart: str, serving: float) -> list[str]:
    md = [
        "## Cost per 1,000 inferences",
        "",
        f"![cost per 1,000 inferences]({{prefix}}{chart})",
        "",
        "Prices: `cost/prices.yaml` (hourly, on-demand and typical spot, in each stack's region). Capacity of a CPU "
        f"node: the replicas of {REPLICA_VCPUS:g} vCPU that fit after {RESERVED_VCPUS} vCPU kept for the node "
        "itself, each serving the best measured requests per vCPU within the SLO. Capacity of a GPU node "
        f"(estimated): its vCPUs run the HTTP serving path at {serving:.0f} requests per vCPU-second, the best any "
        "model reached here (the path alone is at least that fast), and its GPU computes the model at "
        f"{GPU_EFFICIENCY:.0%} of the published FP32 peak; the smaller of the two bounds it. Both choices favour the "
        "GPU. Costs are at full use of whole nodes, so they compare at equal throughput.",
        "",
        "| model | node | hardware | stacks | capacity req/s | on-demand per 1k | spot per 1k |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    stacks = {n.instance_type: ", ".join(n.stacks) for n in nodes}
    for r in rows:
        hw = r["hardware"] + (" (estimated)" if r["hardware"] == "gpu" else "")
        md.append(
            f"| {r['model']} | {r['node']} | {hw} | {stacks[r['node']]} | {r['capacity_rps']:.0f} | "
            f"{_usd(r['on_demand_per_1k'])} | {_usd(r['spot_per_1k'])} |"
        )
    return [*md, ""]


def _break_even_section(even: list[dict], results: dict[str, Any], model: str = "mlp") -> list[str]:
    never = all(e["break_even_rps"] is None for e in even)
    md = [
        "## Break-even: when one GPU node costs less than the CPU nodes for the same rate",
        "",
        "The CPU nodes for a sustained rate cost more than one GPU node once more than `floor(GPU price / CPU "
        "price)` CPU nodes are needed; that rate is the break-even if one GPU node can carry it at the same p95. "
        "'never' means the GPU node saturates first. 'speed-up needed' is how many CPU nodes' throughput a GPU "
        "node must deliver to pay; 'estimated' is what it delivers by the estimate above. Each GPU node type is "
        f"compared with the CPU node type of the same stacks, for the {model} (the model as the platform serves it "
        + ("by default); for every model measured the answer is the same: never." if never else "by default)."),
        "",
        "| GPU node | CPU node | capacity | break-even req/s | GPU node req/s | speed-up needed | estimated |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for e in (e for e in even if e["model"] == model):
        be = "never" if e["break_even_rps"] is None else f"{e['break_even_rps']:.0f}"
        md.append(
            f"| {e['gpu_node']} | {e['cpu_node']} | {'spot' if e['spot'] else 'on-demand'} | {be} | "
            f"{e['gpu_capacity_rps']:.0f} | {e['speedup_needed']:.1f} | {e['speedup_estimated']:.2f} |"
        )
    by = {m["key"]: m for m in results["models"]}
    if model in by and by[model].get("compute_ms") is not None:
        ms = by[model]["compute_ms"]
        int8 = by.get("mlp-int8", {}).get("compute_ms")
        md += [
            "",
            f"The latency a GPU buys: the {model}'s own arithmetic for one request "
            f"({results['rows_per_request']} rows) "
            f"takes {ms:.2f} ms on one CPU core (in-process, median)"
            + (f"; int8 ONNX takes {int8:.2f} ms" if int8 is not None else "")
            + f". That is the most a GPU can take off a request whose p50 is {by[model]['points'][0]['p50_ms']:.1f} ms "
            "through MLServer at one client, less the copies to and from the GPU: for models of this size the serving "
            "path, not the arithmetic, sets the latency.",
        ]
    return [*md, ""]


def _zero_section(zero: list[dict]) -> list[str]:
    md = [
        "## Scale to zero",
        "",
        "Endpoints with `min_replicas: 0` in the stacks, against keeping one warm replica per version. A replica "
        "costs its share of the node by requests (vCPUs, or GPUs for a GPU endpoint), the same attribution the "
        "production cost rules make. 'business hours' assumes traffic only "
        f"{WORKING_HOURS_PER_MONTH} hours a month (8 h x 22 days). The price is the wake-up: the cold start measured "
        "above (slowest model), plus, for a GPU endpoint whose pool is at zero, a node's boot (not measured here).",
        "",
        "| stack | endpoint | versions | node | warm replicas per month | saved, idle all month "
        "| saved, business hours | cold start s |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for z in zero:
        md.append(
            f"| {z['stack']} | {z['endpoint']} | {z['versions']} | {z['node']} | ${z['warm_monthly_usd']:.2f} | "
            f"${z['saved_idle_month_usd']:.2f} | ${z['saved_business_hours_usd']:.2f} | {z['cold_start_s']:.1f} |"
        )
    return [*md, ""]


def reference(results: dict[str, Any], model: str = "mlp") -> dict[str, Any]:
    """The figures the cost dashboard shows beside production: cost per 1,000 inferences of ``model`` per node
    type (``cost/finops_reference.json``)."""
    measured = _measured(results)
    serving = serving_rps_per_vcpu(measured, SLO_MS)
    nodes, _ = inventory()
    published = yaml.safe_load(PUBLISHED.read_text())
    rows = cost_rows([m for m in measured if m.key == model], serving, nodes, published["gpus"], REPLICA_VCPUS, SLO_MS)
    return {
        "model": model,
        "as_of": results["started"][:10],
        "nodes": {
            r["node"]: {
                k: round(r[k], 8) if isinstance(r[k], float) else r[k]
                for k in ("hardware", "capacity_rps", "on_demand_per_1k", "spot_per_1k")
            }
            for r in rows
        },
    }
