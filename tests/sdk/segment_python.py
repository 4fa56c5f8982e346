"""Sends one group call with Segment's Python SDK (segment-analytics-python) to HOST with KEY as
its write key, and waits until it was delivered (retrying a failed delivery as it does)."""
import os
import sys

import segment.analytics as analytics

analytics.write_key = os.environ["KEY"]
analytics.host = os.environ["HOST"]
errors = []
analytics.on_error = lambda error, batch: errors.append(error)
analytics.group("user_python", os.environ["GROUP"], {"name": "Python Co", "plan": "scale", "employees": 31, "mrr": 1999})
analytics.flush()
analytics.shutdown()
if errors:
    sys.exit(f"delivery error: {errors}")
print("flushed")
