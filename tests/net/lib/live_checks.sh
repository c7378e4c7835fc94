# What every live suite checks in `wfbench live`'s report (sourced by
# tests/net/live.sh and tests/net/live_quic.sh). The caller defines rep (the
# report.json), n (loads scheduled per phase), tag (the run's namespace
# prefix) and bad (records a failure); the transport-specific checks (covers,
# episodes, left-over sockets) stay with the suite.

j() { jq -r "$1" "$rep"; }

# Both phases: every load whole and captured, libpcap lost nothing, and the
# idle gaps alone cut the undefended capture into the scheduled loads.
live_check_phases() {
	for ph in undefended defended; do
		[ "$(j .$ph.loads)" = $n ] || bad "$ph: $(j .$ph.loads) loads, $n scheduled"
		[ "$(j .$ph.failed_loads)" = 0 ] || bad "$ph: $(j .$ph.failed_loads) loads lost resources"
		[ "$(j .$ph.mismatched_bytes)" = 0 ] || bad "$ph: $(j .$ph.mismatched_bytes) body bytes differ"
		[ "$(j .$ph.body_bytes)" -gt 0 ] || bad "$ph: no body bytes fetched"
		[ "$(j .$ph.empty_windows)" = 0 ] || bad "$ph: $(j .$ph.empty_windows) loads captured empty"
		[ "$(j .$ph.capture_dropped)" = 0 ] || bad "$ph: libpcap dropped $(j .$ph.capture_dropped) packets"
	done
	[ "$(j .undefended.loads_by_gap)" = $n ] ||
		bad "the idle gaps cut the undefended capture into $(j .undefended.loads_by_gap) loads, $n scheduled"
}

# At least one attack less accurate against the policy, which costs bytes;
# lower = how many attacks are.
live_check_attacks() {
	lower=$(jq -r '[.accuracy[] | select(.undefended != null and .defended != null and
		.defended.mean < .undefended.mean)] | length' "$rep")
	[ "$lower" -gt 0 ] || bad "no attack is less accurate against the policy: $(jq -c .accuracy "$rep")"
	[ "$(jq -r '.overhead.defended.bandwidth > 0' "$rep")" = true ] ||
		bad "the defended loads cost no bytes: $(jq -c .overhead "$rep")"
}

# None of the run's namespaces left behind.
live_check_namespaces_gone() {
	left=$(ip netns list 2>/dev/null | grep -c "^$tag[ud]-[cos]\b" || true)
	[ "$left" = 0 ] || bad "$left namespaces of the run left behind"
}

# "bandwidth +X% live, +Y% simulated", for the summary line.
live_bandwidth() {
	echo "bandwidth +$(jq -r '.overhead.defended.bandwidth * 100 | floor' "$rep")% live," \
		"+$(jq -r '.overhead.simulated.bandwidth * 100 | floor' "$rep")% simulated"
}
