"""The Genesys Cloud Python SDK (PureCloudPlatformClientV2) paging one historical audit query.

Run by `audit-bench peer` in a virtualenv it creates (`pip install PureCloudPlatformClientV2`),
against audit-sim on loopback. It does what `trail export genesys-audits` does for one window,
through the SDK's own calls: a client-credentials token, `post_audits_query` over the interval,
`get_audits_query_transaction_id` until the query has succeeded, then
`get_audits_query_transaction_id_results(page_size=500)` following `cursor` to the end. Every
page is decoded by the SDK into its models (that is the SDK's cost); nothing is written.

The SDK derives its login host from the API host (`//api.` -> `//login.`), which cannot express
the simulator's separate login port, so the token is fetched by a second `ApiClient` whose host
is the simulator's login URL (the SDK's own `get_client_credentials_token`), and handed to the
API client.

Prints one JSON line: records, pages, and the seconds spent paging and in total.
"""

import argparse
import json
import time

T0 = time.perf_counter()

import PureCloudPlatformClientV2 as sdk  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--login", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--interval", required=True)
    p.add_argument("--page-size", type=int, default=500)
    a = p.parse_args()
    imported = time.perf_counter()

    login = sdk.ApiClient(host=a.login).get_client_credentials_token(a.client_id, a.client_secret)
    client = sdk.ApiClient(host=a.api)
    client.access_token = login.access_token
    audit = sdk.AuditApi(client)

    body = sdk.AuditQueryRequest()
    body.interval = a.interval
    order = sdk.AuditQuerySort()
    order.name = "Timestamp"
    order.sort_order = "ascending"
    body.sort = [order]
    status = audit.post_audits_query(body)
    transaction = status.id
    while status.state != "Succeeded":
        if status.state in ("Failed", "Cancelled"):
            raise SystemExit(f"query {transaction} {status.state}")
        time.sleep(0.01)
        status = audit.get_audits_query_transaction_id(transaction)

    paging_started = time.perf_counter()
    records = pages = 0
    cursor = None
    while True:
        kwargs = {"page_size": a.page_size}
        if cursor:
            kwargs["cursor"] = cursor
        page = audit.get_audits_query_transaction_id_results(transaction, **kwargs)
        pages += 1
        records += len(page.entities or [])
        cursor = page.cursor
        if not cursor:
            break
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "records": records,
                "pages": pages,
                "import_s": imported - T0,
                "paging_s": done - paging_started,
                "total_s": done - T0,
            }
        )
    )


if __name__ == "__main__":
    main()
