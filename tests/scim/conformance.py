"""SCIM conformance of a running broker, checked by scim2-tester (RFC 7643/7644).

Usage: python conformance.py BASE_URL CA_CERT  (the SCIM token in $DAYPASS_SCIM_TOKEN)
Prints every check that did not pass with why, then one line
`RESULT scim2-tester passed=N failed=N skipped=N`; exits 1 if any check failed.
"""

import datetime
import os
import random
import sys

import scim2_tester
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from scim2_tester import filling

FAILED = {Status.ERROR, Status.CRITICAL}
PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.DEVIATION}


def with_dates(generate):
    """scim2-tester 0.5.2 fills dateTime attributes (Daypass's contractEnd) with random UUID strings,
    which its own client then refuses before sending anything, so no User check would run. Dates
    are drawn as dates instead; everything else is drawn as the tester draws it."""

    def generate_random_value(context, path, *args, **kwargs):
        binding = path.resolve()
        if binding is not None and binding.target_type is datetime.datetime:
            day = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)
            value = day + datetime.timedelta(seconds=random.randint(0, 3 * 365 * 86400))
            return [value] if binding.target_is_multivalued else value
        return generate(context, path, *args, **kwargs)

    return generate_random_value


def main() -> int:
    patched = with_dates(filling.generate_random_value)
    for name, module in list(sys.modules.items()):
        if name.startswith(scim2_tester.__name__) and hasattr(module, "generate_random_value"):
            module.generate_random_value = patched
    base_url, ca_cert = sys.argv[1], sys.argv[2]
    token = os.environ["DAYPASS_SCIM_TOKEN"]
    http = Client(base_url=base_url, verify=ca_cert, headers={"Authorization": f"Bearer {token}"})
    results = check_server(SyncSCIMClient(http))
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for r in results:
        where = f"{r.resource_type or '-'} {r.title}"
        if r.status in FAILED:
            counts["failed"] += 1
            print(f"FAILED {where}: {r.reason}")
        elif r.status in PASSED:
            counts["passed"] += 1
            if r.status is Status.DEVIATION:
                print(f"deviation {where}: {r.reason}")
        else:
            counts["skipped"] += 1
            print(f"skipped {where}: {r.reason}")
    print(f"RESULT scim2-tester passed={counts['passed']} failed={counts['failed']} skipped={counts['skipped']}")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
