/**
 * class up/reset/down run one `npm run` per learner, a bounded number at once: one learner's
 * failure (or a step that throws) is reported with why and its log, and never stops the others.
 */
import { describe, expect, it } from "vitest";
import { eachLearner, type Run } from "../../../scripts/cli/class";

describe("eachLearner", () => {
  it("runs every learner, at most `parallel` at once, and reports a failed one with why without stopping the others", async () => {
    let running = 0;
    let most = 0;
    const started: string[] = [];
    const told: string[] = [];
    const step = async (learner: string): Promise<Run & { log?: string }> => {
      started.push(learner);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, learner === "bob" ? 5 : 20));
      running--;
      if (learner === "bob") return { code: 1, stderr: "Pulumi said something\nswarmlab: cannot reach swarm@192.168.123.10 over SSH\n", log: ".swarmlab/class/logs/bob-up.log" };
      if (learner === "dee") throw new Error("spawn npm ENOENT");
      return { code: 0, stderr: "", log: `.swarmlab/class/logs/${learner}-up.log` };
    };
    const results = await eachLearner(["ann", "bob", "cy", "dee", "eve"], 2, "up", step, (s) => told.push(s));
    expect(started.sort()).toEqual(["ann", "bob", "cy", "dee", "eve"]);
    expect(most).toBe(2);
    expect(results.map((r) => [r.learner, r.ok])).toEqual([["ann", true], ["bob", false], ["cy", true], ["dee", false], ["eve", true]]);
    expect(results[1]!.why).toBe("npm run up exited 1: swarmlab: cannot reach swarm@192.168.123.10 over SSH (log: .swarmlab/class/logs/bob-up.log)");
    expect(results[3]!.why).toBe("npm run up exited null: spawn npm ENOENT");
    expect(told.filter((t) => / up \(/.test(t))).toHaveLength(3);
    expect(told.find((t) => t.startsWith("class: bob: "))).toMatch(/^class: bob: npm run up exited 1: .* \(log: .*\) \([\d.]+ s\)$/);
  });

  it("one at once runs them one after the other, in order", async () => {
    const order: string[] = [];
    await eachLearner(["a", "b", "c"], 1, "reset", async (l) => {
      order.push(`start ${l}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${l}`);
      return { code: 0, stderr: "" };
    }, () => undefined);
    expect(order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });
});
