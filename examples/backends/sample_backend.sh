#!/bin/sh
# A sample secret backend: a small wrapper that answers the agent's request with the contents
# of one file per handle, by handing stdin/stdout to `stsecrets helper read-file DIR`.
#
# Why a wrapper: the agent (and stsecrets) refuse to run a backend that anyone but its owner
# could change or run. Installing this script as the backend keeps those strict rules on a
# small file you control, while the stsecrets binary itself stays a normal 0755 program.
#
# Install it for the user that runs the agent (here: stackstate-agent):
#   install -o stackstate-agent -g stackstate-agent -m 0700 sample_backend.sh \
#       /etc/stackstate-agent/backends/sample_backend.sh
# or, to let the agent's group run a root-owned copy, mode 0750 plus
#   secret_backend_command_allow_group_exec_perm: true
# Every directory above it must be owned by root or that user and not writable by others
# (`stsecrets check` lists each one with the command that fixes it).
#
# Configure it in stackstate.yaml:
#   secret_backend_command: /etc/stackstate-agent/backends/sample_backend.sh
#   secret_backend_arguments: [/usr/local/bin/stsecrets, /etc/stackstate-agent/secrets]
#
# The backend runs with an empty environment (PATH=/usr/bin:/bin), so paths come from its
# arguments, not from variables.
set -eu

STSECRETS=${1:-/usr/local/bin/stsecrets}
SECRETS_DIR=${2:-/etc/stackstate-agent/secrets}

# Request on stdin:  {"version":"1.0","secrets":["api_key","postgres_password"]}
# Answer on stdout:  {"api_key":{"value":"..."},"postgres_password":{"value":null,"error":"..."}}
exec "$STSECRETS" helper read-file "$SECRETS_DIR"
