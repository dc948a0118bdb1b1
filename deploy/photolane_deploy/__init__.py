"""photolane on AWS: the CDK app (``deploy/app.py``) and the image push (``make push``)."""

import os

# jsii runs the CDK in node; this machine's node 20 works but would print a banner on every synth.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
