#!/usr/bin/env bash
# The benchmark suite still works: `bash bench/run.sh --quick --no-build`
# (small data, few repeats) on its own cluster, with its results written to a
# scratch directory.  Prints TAP.  No timing is asserted (quick figures mean
# nothing): only that every workload ran and the outputs are well formed.
#
# Run from the repository root by `prove -v --exec bash test/t/*.sh`
# (test/run.sh), once acl is installed.  BENCH_PORT (default 55493) must
# differ from the test cluster's port and from the full benchmark's (55492).
set -uo pipefail

WORK=$(mktemp -d /tmp/acl-bench-quick.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
JSON=$WORK/results/latest.json
IDS="W1 W2 W3 W4 W5 W6.W1 W6.W2 W6.W4 W7 W8.sync W8.sync_all W8.memory"
n=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
diag() { sed -e 's/^/# /'; }
# json_ok DESCRIPTION PERL: PERL runs with $d = the decoded latest.json (JSON::PP
# is core Perl, which prove needs anyway) and @w = its workloads; it passes
# when it returns true, and whatever it prints is shown as diagnostics.
json_ok() {
    local out
    if out=$(IDS=$IDS perl -MJSON::PP -e '
            open my $f, "<", $ARGV[0] or die "$ARGV[0]: $!\n";
            our $d = decode_json(do { local $/; <$f> });
            our @w = @{$d->{workloads}};
            my $r = eval $ARGV[1]; die $@ if $@; exit($r ? 0 : 1);' "$JSON" "$2" 2>&1); then
        pass "$1"
    else
        fail "$1"; [ -n "$out" ] && printf '%s\n' "$out" | diag
    fi
}

echo "1..8"
if BENCH_RESULTS="$WORK/results" BENCH_PORT="${BENCH_PORT:-55493}" \
        bash bench/run.sh --quick --no-build >"$WORK/out.log" 2>&1; then
    pass "bash bench/run.sh --quick --no-build succeeds"
else
    fail "bash bench/run.sh --quick --no-build succeeds"
    tail -40 "$WORK/out.log" | diag
fi

missing=""
for w in $IDS; do
    grep -qE "^ $w +\|" "$WORK/out.log" || missing+=" $w"
done
if [ -z "$missing" ]; then
    pass "the table on stdout has a row for each workload (W1-W8)"
else
    fail "the table on stdout has a row for each workload (W1-W8)"; echo "missing:$missing" | diag
fi

json_ok "latest.json parses, and lists every workload in order" \
    'join(" ", map { $_->{id} } @w) eq $ENV{IDS}'
json_ok "each workload has acl, baseline, ratio, target, pass and status" '
    my @bad = grep { !($_->{status} =~ /^(pass|fail|error)$/ && JSON::PP::is_bool($_->{pass})
                       && ($_->{status} eq "error" || (defined $_->{acl} && defined $_->{baseline}
                                                      && defined $_->{ratio} && defined $_->{target}))) } @w;
    print "incomplete: $_->{id}\n" for @bad; !@bad'
json_ok "latest.json records the date, the machine and the data sizes" '
    $d->{date} && $d->{machine}{nproc} >= 1 && $d->{machine}{postgresql} =~ /^PostgreSQL 15/
    && $d->{data}{glucose_readings} > 0 && $d->{data}{glucose_readings_permissions} >= 5'
json_ok "no workload stopped with an error; each has its plan (W8.memory: its memory breakdown)" '
    my @bad = grep { $_->{status} eq "error" || (!$_->{plan} && $_->{id} !~ /^W8\.sync/) } @w;
    print "$_->{id}: ", ($_->{error} // "no plan"), "\n" for @bad; !@bad'
json_ok "W7 records its identity arm, its per-round ratios and each arm's CPU time per transaction" '
    my ($w7) = grep { $_->{id} eq "W7" } @w;
    my $c = $w7->{checks} // {};
    my @arms = grep { my $a = $c->{cpu_us_per_transaction}{$_} // {};
                      ($a->{client} // 0) > 0 && ($a->{server} // 0) > 0 } qw(acl baseline identity);
    print "CPU time for: @arms\n" if @arms != 3;
    @arms == 3 && ($c->{baseline_with_identity_statement}{acl_if_it_cost_nothing} // 0) > 0
    && ($c->{by_cpu_time}{acl_ratio} // 0) > 0
    && @{$c->{per_round}{acl_ratio} // []} == $d->{settings}{w7_rounds}
    && @{$w7->{samples}{acl}} == $d->{settings}{w7_rounds}'

if [ "$(od -An -tx1 -N8 "$WORK/results/latest.png" 2>/dev/null | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    pass "latest.png is a PNG"
else
    fail "latest.png is a PNG"
fi
