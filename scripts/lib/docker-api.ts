/**
 * The Python client of the Docker engine's API (docker-api.py) that scripts run on the guests
 * put in front of their own Python: one process asks the engine what several runs of the docker
 * CLI would, each run of which costs about a second of an emulated CPU.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Where the Docker engine listens unless told otherwise. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

export const DOCKER_API_PY = fs.readFileSync(path.join(__dirname, "docker-api.py"), "utf8");

/** A program text made of the client and a script that uses it. */
export function withDockerApi(script: string): string {
  return `${DOCKER_API_PY}\n\n${script}`;
}
