#!/usr/bin/python3
"""A sample secret backend written out in full, for people writing their own.

Protocol 1.0 (the same as the StackState and Datadog agents):
  stdin:  {"version": "1.0", "secrets": ["api_key", "postgres_password"]}
  stdout: {"api_key": {"value": "..."}, "postgres_password": {"value": null, "error": "not found"}}
A non-zero exit status fails the whole run; a per-handle "error" fails only that handle.

This one reads each handle from a file under SECRETS_DIR (its first argument). Install it like
sample_backend.sh: owned by the agent's user, mode 0700 (chmod 700), in folders only root or that
user can write. Never print a secret to stderr: it ends up in the agent's logs.
"""
import json
import os
import sys

SECRETS_DIR = sys.argv[1] if len(sys.argv) > 1 else "/etc/stackstate-agent/secrets"
MAX_BYTES = 64 * 1024


def read_secret(handle):
    root = os.path.realpath(SECRETS_DIR)
    path = os.path.realpath(os.path.join(root, handle))
    if os.path.isabs(handle) or os.path.commonpath([root, path]) != root:
        raise ValueError("the handle leaves the secrets folder")
    if not os.path.isfile(path):
        raise ValueError("no such secret")
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError("secret file is too large")
    return data.decode("utf-8")


def main():
    request = json.load(sys.stdin)
    if str(request.get("version", "")).split(".")[0] != "1":
        print("unsupported protocol version %r" % request.get("version"), file=sys.stderr)
        return 2
    response = {}
    for handle in request.get("secrets", []):
        try:
            response[handle] = {"value": read_secret(handle)}
        except (OSError, ValueError, UnicodeDecodeError) as e:
            response[handle] = {"value": None, "error": str(e)}
    json.dump(response, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
