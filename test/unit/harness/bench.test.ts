/**
 * test/harness/bench.ts without the hypervisor: its options, checked before anything runs, and
 * how it words a failed class command from that command's output.
 */
import { describe, expect, it } from "vitest";
import { benchLearners, classOutcome, parseBenchArgs, summary, verifyOutcome } from "../../harness/bench";

describe("bench options", () => {
  it("defaults to 3 runs and a class of 2", () => {
    expect(parseBenchArgs([])).toEqual({ runs: 3, class: 2, classParallel: 0 });
  });

  it("takes --runs and --class, as two words or with =", () => {
    expect(parseBenchArgs(["--runs", "1", "--class", "0"])).toEqual({ runs: 1, class: 0, classParallel: 0 });
    expect(parseBenchArgs(["--class=8", "--runs=20"])).toEqual({ runs: 20, class: 8, classParallel: 0 });
    expect(parseBenchArgs(["--class", "2", "--class-parallel", "1"])).toEqual({ runs: 3, class: 2, classParallel: 1 });
    expect(() => parseBenchArgs(["--class-parallel", "9"])).toThrow("--class-parallel 9: allowed 0 to 8");
  });

  it("refuses a class outside 0..8, naming the value", () => {
    expect(() => parseBenchArgs(["--class", "9"])).toThrow("--class 9: allowed 0 to 8");
    expect(() => parseBenchArgs(["--class", "-1"])).toThrow("--class -1: allowed 0 to 8");
    expect(() => parseBenchArgs(["--class", "2.5"])).toThrow("--class 2.5: allowed 0 to 8");
    expect(() => parseBenchArgs(["--class=two"])).toThrow("--class two: allowed 0 to 8");
    expect(() => parseBenchArgs(["--class"])).toThrow("--class needs a value: 0 to 8");
  });

  it("still refuses runs outside 1..20", () => {
    expect(() => parseBenchArgs(["--runs", "0"])).toThrow("--runs 0: allowed 1 to 20");
    expect(() => parseBenchArgs(["--runs", "--class", "2"])).toThrow("--runs needs a value: 1 to 20");
  });

  it("refuses an unknown option with the list of the known ones", () => {
    expect(() => parseBenchArgs(["--learners", "2"])).toThrow('unknown option "--learners"; known: --runs N (1 to 20, default 3), --class N (0 to 8, default 2), --class-parallel N (0 to 8, default 0)');
    expect(() => parseBenchArgs(["3"])).toThrow('unknown option "3"');
  });
});

describe("bench class names and figures", () => {
  it("names its learners bench-l01.., apart from the tests' learner-01..", () => {
    expect(benchLearners(3)).toEqual(["bench-l01", "bench-l02", "bench-l03"]);
    expect(benchLearners(0)).toEqual([]);
  });

  it("summarises one sample as itself", () => {
    expect(summary([42.5])).toEqual({ min: 42.5, median: 42.5, max: 42.5, n: 1 });
  });
});

describe("the reason a class command failed", () => {
  it("class up: the summary line and each failed learner", () => {
    const out = [
      "class: bench-l01: qemu:///system, network 192.168.60.0/24",
      "class: building 2 lab(s), 2 at once (logs in .swarmlab/class/logs/)",
      "class: bench-l01: up (301.2 s)",
      "class: bench-l02: npm run up exited 1: error: ssh timed out (log: .swarmlab/class/logs/bench-l02-up.log) (120.0 s)",
      "class up: 1 of 2 learner(s) done in 305.9 s",
      "  bench-l02: npm run up exited 1: error: ssh timed out (log: .swarmlab/class/logs/bench-l02-up.log)",
      "",
    ].join("\n");
    expect(classOutcome(out, "up")).toBe("class up: 1 of 2 learner(s) done in 305.9 s; bench-l02: npm run up exited 1: error: ssh timed out (log: .swarmlab/class/logs/bench-l02-up.log)");
  });

  it("a usage error: its message, not the usage text after it", () => {
    const out = "class: --learners: stack name \"X\" is not allowed\nusage: npm run class -- VERB [options]\n\n  up ...\nmissing fact); 1 some did not; 2 usage error.\n";
    expect(classOutcome(out, "up")).toBe('class: --learners: stack name "X" is not allowed');
  });

  it("class verify: the count and the learners with a failed or unchecked fact", () => {
    const out = [
      "class: verifying 2 lab(s), 2 at once: bench-l01, bench-l02",
      "class: bench-l01: 0 failed, 0 could not be checked (15.0 s)",
      "class: bench-l02: 2 failed, 1 could not be checked (16.1 s)",
      "class: 1 of 2 labs without a failed, unchecked or missing fact (16.2 s)",
      "  .swarmlab/class/2026-12-02T01-00-00-000Z/gradebook.html",
      "  .swarmlab/class/2026-12-02T01-00-00-000Z/gradebook.csv",
    ].join("\n");
    expect(verifyOutcome(out)).toBe("class: 1 of 2 labs without a failed, unchecked or missing fact (16.2 s); class: bench-l02: 2 failed, 1 could not be checked (16.1 s)");
  });
});
