#!/usr/bin/env bash
# The validation evaluator (src/rule_validate.c) against the spec's behaviour
# cases 49-56, 95-102 and the operator table of §5.2, without a cluster.
# Prints TAP; run from the repository root by `prove -v --exec bash test/t/*.sh`.
cd "$(dirname "$0")/../.." || exit 1
exec test/fuzz/cases.sh
