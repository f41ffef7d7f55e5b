"""zenpy paging Zendesk ticket audits (`/api/v2/ticket_audits`, cursor pages) from audit-sim.

Run by `audit-bench peer` in its virtualenv (`pip install zenpy`). zenpy has no audit-log API,
so the comparison is on the ticket-audit stream: `zenpy.tickets.audits()` walks every page of
`/ticket_audits` (newest first) with zenpy's own page size, turning each audit into zenpy
objects; `trail export zendesk-ticket-audits` reads the same records.

zenpy builds `https://{subdomain}.zendesk.com`; it is pointed at the simulator through its own
documented overrides, the environment variables `ZENPY_FORCE_SCHEME=http` and
`ZENPY_FORCE_NETLOC=127.0.0.1:PORT` (set by the harness). Nothing of zenpy is patched.

Prints one JSON line: records, and the seconds spent paging and in total.
"""

import argparse
import json
import time

T0 = time.perf_counter()

from zenpy import Zenpy  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--subdomain", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--token", required=True)
    a = p.parse_args()
    imported = time.perf_counter()
    client = Zenpy(subdomain=a.subdomain, email=a.email, token=a.token)
    paging_started = time.perf_counter()
    records = 0
    for _audit in client.tickets.audits():
        records += 1
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "records": records,
                "import_s": imported - T0,
                "paging_s": done - paging_started,
                "total_s": done - T0,
            }
        )
    )


if __name__ == "__main__":
    main()
