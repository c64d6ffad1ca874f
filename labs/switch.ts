/**
 * Switching labs on running hosts: every lab labels what its workload creates on the swarm
 * (services, networks, containers) with `swarmlab.lab=<lab>`, and its workload script starts
 * with otherLabsRemoved(<lab>), which removes what another lab labelled. Hosts, Docker and the
 * swarm stay; only the lab's own part is replaced. Run on the manager: services and swarm-scoped
 * networks go cluster-wide; containers and local networks are the manager's own (the labs keep
 * theirs there).
 */
import { shellQuote as shq } from "../scripts/lib/shell";
import { apiLook } from "./swarm-api";

export const LAB_LABEL = "swarmlab.lab";

/** `--label swarmlab.lab=<lab>`, for docker service/network/container create. */
export function labLabel(lab: string): string {
  return `--label ${shq(`${LAB_LABEL}=${lab}`)}`;
}

/**
 * Shell lines removing every service, container and network labelled by another lab, services
 * first (their tasks hold the networks), then waiting until this host has let go of the ports
 * they published, their networks are gone and every node has let their tasks go (a worker keeps
 * a removed network's namespaces until then). Idempotent. With \`api\` (the script starts with
 * swarmApiPrelude) one look through the engine's API lists them where the host can, and says
 * whether the lab's own overlay and service exist (\`looked network\`, \`looked service\`).
 */
export function otherLabsRemoved(lab: string, api?: { overlay?: string; service?: string }): string {
  const mine = shq(`${LAB_LABEL}=${lab}`);
  // What is labelled by any lab, less what is labelled by this one; the three listings at once
  // (a docker CLI call costs a second or two on an emulated CPU), and this lab's own listing
  // only where some lab labelled something (a first \`up\` lists three times, not six).
  const ls = (what: string, file: string) =>
    `{ { docker ${what} -q --filter label=${LAB_LABEL} | sort; } >"$sw_tmp/${file}.all" && if [ -s "$sw_tmp/${file}.all" ]; then { docker ${what} -q --filter label=${mine} | sort; } >"$sw_tmp/${file}.mine"; else : >"$sw_tmp/${file}.mine"; fi; } &`;
  const cli = `sw_tmp=$(mktemp -d)
${ls("service ls", "services")}
${ls("ps -a", "containers")}
${ls("network ls", "networks")}
wait
other() { comm -23 "$sw_tmp/$1.all" "$sw_tmp/$1.mine" | tr '\n' ' '; }
other_services=$(other services)
other_containers=$(other containers)
other_networks=$(other networks)
rm -rf "$sw_tmp"
`;
  // With the API's look (the script starts with swarmApiPrelude): one Python process, not three
  // docker CLI runs; it also tells the caller whether its overlay and service exist (\`looked\`).
  const listed = api
    ? `${apiLook({ label: LAB_LABEL, lab, ...api })}if [ "$sw_api" = 1 ]; then
  other_services=$(looked other | awk '$1 == "service" { printf "%s ", $2 }')
  other_containers=$(looked other | awk '$1 == "container" { printf "%s ", $2 }')
  other_networks=$(looked other | awk '$1 == "network" { printf "%s ", $2 }')
else
  ${cli.trimEnd().replace(/\n/g, "\n  ")}
fi
`
    : cli;
  return `# Another lab's part (labelled ${LAB_LABEL}=<another lab>) goes first.
${listed}if [ -n "$other_services$other_containers$other_networks" ]; then
  echo "removing another lab's part: services [$other_services] containers [$other_containers] networks [$other_networks]" >&2
  if [ -n "$other_services" ]; then
    # The ports they publish: this host lets go of them a few seconds after the services go.
    # shellcheck disable=SC2086
    other_ports=$(docker service inspect --format '{{range .Endpoint.Ports}}{{.PublishedPort}} {{end}}' $other_services)
    # Their tasks, on every node: a node keeps a removed network's namespaces until its tasks are gone.
    other_tasks=$(for s in $other_services; do docker service ps -q --no-trunc "$s"; done)
    # shellcheck disable=SC2086
    docker service rm $other_services >/dev/null
    for port in $other_ports; do
      for _ in $(seq 1 60); do
        [ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && break
        sleep 1
      done
    done
  fi
  # shellcheck disable=SC2086
  [ -z "$other_containers" ] || docker rm -f $other_containers >/dev/null
  # A removed service's tasks leave its networks a few seconds later.
  for _ in $(seq 1 30); do
    [ -n "$other_networks" ] || break
    left=""
    for n in $other_networks; do
      docker network rm "$n" >/dev/null 2>&1 || { docker network inspect "$n" >/dev/null 2>&1 && left="$left $n"; }
    done
    other_networks=$left
    [ -z "$other_networks" ] || sleep 1
  done
  [ -z "$other_networks" ] || echo "warning: networks of another lab still in use:$other_networks" >&2
  # Until every node has let its tasks go (a task whose sleep ignores SIGTERM takes its grace period).
  if [ -n "\${other_tasks:-}" ]; then
    for _ in $(seq 1 90); do
      # shellcheck disable=SC2086
      docker inspect --type task --format '{{.ID}}' $other_tasks 2>/dev/null | grep -q . || break
      sleep 1
    done
  fi
fi
`;
}
