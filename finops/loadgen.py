"""A closed-loop load generator: ``concurrency`` clients, each sending the next request when the last one answers.

Run as its own process (``python -m finops.loadgen URL BODY_FILE CONCURRENCY SECONDS``) so that its event loop
does not share a core's time slices with the benchmark's bookkeeping; prints one JSON line with every latency.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp


async def _client(session: aiohttp.ClientSession, url: str, body: bytes, until: float, out: dict) -> None:
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
                await resp.read()
                ok = resp.status == 200
        except aiohttp.ClientError:
            ok = False
        elapsed = (time.perf_counter() - start) * 1000
        if ok:
            out["latencies_ms"].append(elapsed)
        else:
            out["errors"] += 1


async def run(url: str, body: bytes, concurrency: int, seconds: float) -> dict:
    out: dict = {"latencies_ms": [], "errors": 0}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic()
        until = start + seconds
        await asyncio.gather(*(_client(session, url, body, until, out) for _ in range(concurrency)))
        out["duration_s"] = time.monotonic() - start
    return out


def main() -> None:
    url, body_file, concurrency, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with open(body_file, "rb") as f:
        body = f.read()
    print(json.dumps(asyncio.run(run(url, body, concurrency, seconds))))


if __name__ == "__main__":
    main()
