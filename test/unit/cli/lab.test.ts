/** `npm run up|preview|refresh|down|pulumi`: argument checking and the phase timing line. */
import { describe, expect, it } from "vitest";
import { interruptCounter, parseLabArgs, phaseTimes } from "../../../scripts/cli/lab";

describe("lab CLI arguments", () => {
  it("defaults to stack dev and takes --stack NAME or --stack=NAME", () => {
    expect(parseLabArgs(["up"])).toMatchObject({ verb: "up", stack: "dev" });
    expect(parseLabArgs(["up", "--stack", "monday"]).stack).toBe("monday");
    expect(parseLabArgs(["down", "--", "--stack=monday", "--remove"])).toMatchObject({ verb: "down", stack: "monday", remove: true });
    expect(parseLabArgs(["preview", "--expect-no-changes", "--diff"])).toMatchObject({ expectNoChanges: true, diff: true });
  });

  it("refuses an unknown verb, a flag the verb does not take, and bad stack names, naming what is allowed", () => {
    expect(() => parseLabArgs(["upp"])).toThrow(/unknown command "upp": use up, preview, refresh, reset, down or pulumi/);
    expect(() => parseLabArgs([])).toThrow(/unknown command ""/);
    expect(() => parseLabArgs(["up", "--remove"])).toThrow(/npm run up does not take "--remove" \(allowed: --stack NAME\)/);
    expect(() => parseLabArgs(["down", "--expect-no-changes"])).toThrow(/allowed: --stack NAME, --remove/);
    expect(() => parseLabArgs(["up", "--stack"])).toThrow(/--stack needs a stack name/);
    for (const bad of ["..", "-x", ".hidden", "a/b", "my lab", "Dev", "dev_", "x".repeat(39)]) {
      expect(() => parseLabArgs(["up", "--stack", bad]), bad).toThrow(/stack name .* (is not allowed|characters long)/);
    }
  });

  it("passes everything after pulumi to the CLI, and needs something to pass", () => {
    expect(parseLabArgs(["pulumi", "config", "set", "swarmlab:vcpus", "1"]).rest).toEqual(["config", "set", "swarmlab:vcpus", "1"]);
    expect(() => parseLabArgs(["pulumi"])).toThrow(/needs the Pulumi CLI's arguments/);
  });
});

describe("phase timings of up", () => {
  const ev = (name: string, seconds: number, op = "create") => ({ name, op, seconds });

  it("reports when each phase's last resource was done, in build order", () => {
    const line = phaseTimes([
      ev("swarmlab-dev-network-net", 1),
      ev("swarmlab-dev-docker0-domain", 9.8),
      ev("swarmlab-dev-docker1-domain", 10.2),
      ev("swarmlab-dev-docker1-ready", 80),
      ev("swarmlab-dev-docker0-ready", 81.25),
      ev("swarmlab-dev-docker0-docker", 100),
      ev("swarmlab-dev-docker1-docker", 106),
      ev("swarmlab-dev-swarm-init", 120),
      ev("swarmlab-dev-swarm-join-docker1", 150),
      ev("swarmlab-dev-workload-service", 225.5),
    ]);
    expect(line).toBe("define 10.2 s, ssh 81.3 s, docker 106.0 s, swarm 150.0 s, workload 225.5 s");
  });

  it("leaves out the phases whose steps were left as they were", () => {
    expect(phaseTimes([ev("swarmlab-dev-docker1-domain", 5, "same"), ev("swarmlab-dev-workload-service", 30, "update")])).toBe("workload 30.0 s");
    expect(phaseTimes([])).toBe("");
  });
});

describe("Ctrl-C during npm run up", () => {
  it("takes the same press relayed by tsx (within a second) as one; a press a second later stops at once", () => {
    const c = interruptCounter();
    expect(c(10_000)).toBe(1);
    // The terminal signals the process group and tsx relays the same SIGINT: not a second press.
    expect(c(10_003)).toBe(0);
    expect(c(10_900)).toBe(0);
    expect(c.count()).toBe(1);
    expect(c(11_200)).toBe(2);
    expect(c.count()).toBe(2);
  });
});
