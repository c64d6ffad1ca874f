/**
 * The wait every swarm lab's workload shares: until each node is Ready in `docker node ls`,
 * one listing every 2 s for all of them (a docker call costs about a second on an emulated
 * CPU). The caller's script defines `expired` (its deadline has passed) and `diagnose` (prints
 * what helps on stderr), and `fail` comes with BASH_HEADER.
 */
import { shellQuote as shq } from "../scripts/lib/shell";

export function nodesReadyWait(nodes: readonly string[], timeoutSec: number): string {
  // awk prints the nodes not (yet) listed as Ready; a failed listing leaves them all.
  return `while :; do
  not_ready=$(docker node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null | awk -v want=${shq(nodes.join(" "))} 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 } $2 == "Ready" { delete need[$1] } END { for (k in need) printf "%s ", k }') || true
  [ -z "$not_ready" ] && break
  expired && { diagnose; fail "node(s) \${not_ready% } not Ready after ${timeoutSec}s"; }
  sleep 2
done
`;
}
