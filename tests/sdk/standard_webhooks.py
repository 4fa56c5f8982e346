"""Signs requests with the Standard Webhooks reference library (PyPI `standardwebhooks`) and
sends them to URL: a good one, a tampered body, a stale timestamp and a replayed webhook-id.
Prints one line per case: NAME STATUS."""
import datetime
import json
import os
import urllib.error
import urllib.request

from standardwebhooks.webhooks import Webhook

url, secret = os.environ["URL"], os.environ["SECRET"]
wh = Webhook(secret)


def send(name, msg_id, when, body, signed_body=None):
    signature = wh.sign(msg_id, when, signed_body if signed_body is not None else body)
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    })
    try:
        with urllib.request.urlopen(request) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
    print(name, status, flush=True)


now = datetime.datetime.now(tz=datetime.timezone.utc)
body = json.dumps({"type": "group", "groupId": "ws_signed", "traits": {"name": "Signed Co", "employees": 3}})
send("good", "msg_1", now, body)
send("tampered", "msg_2", now, body.replace("Signed Co", "Forged Co"), signed_body=body)
send("stale", "msg_3", now - datetime.timedelta(minutes=10), body)
send("replayed", "msg_1", now, body)
