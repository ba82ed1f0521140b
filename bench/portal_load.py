"""Clients of the reporting portal's form for bench/portal-load.sh, each on its own loopback
source address (127.0.0.0/8 is all loopback on Linux), so that the node's per-client rate
limit sees them as different clients. Standard library only; prints one JSON object.

  edge    CLIENTS clients, THREADS at a time, each sends exactly its burst of reports
          (all should be accepted, 303) and then one more (which should be refused, 429):
          requests per second and latency of real filings at the limit's edge.
  steady  one client sends its burst, then one report every 60/PER_MINUTE seconds for
          SECONDS: at the limit's rate, every one should be accepted.
"""

import argparse
import http.client
import json
import threading
import time
import urllib.parse


def client_address(index):
    """The index-th client's source address: 127.0.1.1, 127.0.1.2, ... (250 per /24)."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


class Client:
    """One client: a keep-alive connection from its own source address."""

    def __init__(self, url, source, body, cookie):
        parts = urllib.parse.urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise SystemExit("portal_load.py: loopback (127.0.0.1) only")
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self.source, self.body = source, body
        self.headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
        }
        self.connection = None

    def post(self):
        """Sends the form once; returns (status, seconds)."""
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=30, source_address=(self.source, 0)
                )
            started = time.perf_counter()
            try:
                self.connection.request("POST", self.path, self.body, self.headers)
                response = self.connection.getresponse()
                response.read()
                return response.status, time.perf_counter() - started
            except (ConnectionError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: reconnect once.
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.connection is not None:
            self.connection.close()


def percentile(values, share):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def edge(args, body, cookie):
    lock = threading.Lock()
    next_client = [0]
    filed, extra = [], []  # (status, seconds)

    def work():
        while True:
            with lock:
                index = next_client[0]
                if index >= args.clients:
                    return
                next_client[0] += 1
            client = Client(args.url, client_address(index), body, cookie)
            mine = [client.post() for _ in range(args.burst)]
            one_more = client.post()
            client.close()
            with lock:
                filed.extend(mine)
                extra.append(one_more)

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies = [s for _, s in filed]
    return {
        "clients": args.clients,
        "threads": args.threads,
        "burst_requests": len(filed),
        "burst_accepted": sum(1 for status, _ in filed if status == 303),
        "burst_refused": sum(1 for status, _ in filed if status == 429),
        "extra_requests": len(extra),
        "extra_refused": sum(1 for status, _ in extra if status == 429),
        "extra_accepted": sum(1 for status, _ in extra if status == 303),
        "other": sum(1 for status, _ in filed + extra if status not in (303, 429)),
        "seconds": seconds,
        "requests_per_second": (len(filed) + len(extra)) / seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies, default=0) * 1000,
    }


def steady(args, body, cookie):
    client = Client(args.url, "127.0.0.2", body, cookie)
    interval = 60.0 / args.per_minute
    statuses = [client.post()[0] for _ in range(args.burst)]
    started = time.monotonic()
    sent_at_rate = 0
    while True:
        # A little after each refill, as a client keeping to the rate would.
        due = started + (sent_at_rate + 1) * interval + 0.05
        if due - started > args.seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        statuses.append(client.post()[0])
        sent_at_rate += 1
    client.close()
    return {
        "requests": len(statuses),
        "seconds": time.monotonic() - started,
        "accepted": statuses.count(303),
        "refused": statuses.count(429),
        "other": sum(1 for s in statuses if s not in (303, 429)),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["edge", "steady"])
    parser.add_argument("--url", required=True, help="the form's URL (127.0.0.1)")
    parser.add_argument("--token", required=True, help="a CSRF token (form and cookie)")
    parser.add_argument("--burst", type=int, required=True)
    parser.add_argument("--per-minute", type=int, default=6)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    if not 1 <= args.clients <= 10_000:
        raise SystemExit("portal_load.py: 1 to 10000 clients")
    body = urllib.parse.urlencode(
        {
            "urls": "https://example.com/load-test/page\nhttps://example.net/other",
            "kind": "unsure",
            "description": "load test",
            "email": "",
            "csrf": args.token,
        }
    )
    cookie = f"ward_csrf={args.token}"
    result = edge(args, body, cookie) if args.mode == "edge" else steady(args, body, cookie)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
