/**
 * What the bridge lab builds (seed 003 "Single-host bridge networks"): on the shared hosts and
 * swarm, a user-defined bridge network and four containers on the manager. No overlay and no
 * service for the gather to look into; localnet's subnet is Docker's choice (the seed sets none),
 * so the lab fixes no range of its own.
 */
import type { LabDefinition } from "../lab";
import { SHARED_HOSTS, SHARED_NETWORK } from "../hosts";
import { LAB_NAME } from "./workload";

export const bridgeLab: LabDefinition = {
  name: LAB_NAME,
  network: SHARED_NETWORK,
  hosts: SHARED_HOSTS,
  defaultImage: "alpine",
  subnets: [],
};
