/**
 * The wait every swarm lab's workload shares: until each node is Ready in `docker node ls`,
 * polled every 2 s. The caller's script defines `expired` (its deadline has passed) and
 * `diagnose` (prints what helps on stderr), and `fail` comes with BASH_HEADER.
 */
import { shellQuote as shq } from "../scripts/lib/shell";

export function nodesReadyWait(nodes: readonly string[], timeoutSec: number): string {
  return `for node in ${nodes.map(shq).join(" ")}; do
  until [ "$(docker node ls --filter "name=$node" --format '{{.Hostname}} {{.Status}}' | awk -v n="$node" '$1==n {print $2}')" = Ready ]; do
    expired && { diagnose; fail "node $node is not Ready after ${timeoutSec}s"; }
    sleep 2
  done
done
`;
}
