/**
 * The hosts and the underlay every lab shares (HOST-1, HOST-2 of swarm-overlay's facts): two
 * guests on 192.168.122.0/24, docker0 (.10) the swarm's manager and docker1 (.11) its worker.
 * Labs differ in what they build on top; `npm run up` switching labs keeps these.
 */
import type { LabDefinition } from "./definition";

export const SHARED_NETWORK: LabDefinition["network"] = { cidr: "192.168.122.0/24" };

export const SHARED_HOSTS: LabDefinition["hosts"] = [
  { name: "docker0", hostname: "docker0.local", role: "manager", hostOffset: 10 },
  { name: "docker1", hostname: "docker1.local", role: "worker", hostOffset: 11 },
];
