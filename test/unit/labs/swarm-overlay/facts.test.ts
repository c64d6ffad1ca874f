import { describe, expect, it } from "vitest";
import { citation, factById, FACTS, isFactId } from "../../../../labs/swarm-overlay/facts";

describe("facts", () => {
  it("are found by ID, exactly", () => {
    expect(factById("VXLAN-1")!.title).toBe("demonet vxlan: id 4097, dstport 4789, proxy l2miss l3miss, ageing 300");
    expect(factById("vxlan-1")).toBeUndefined();
    expect(factById("VXLAN-9")).toBeUndefined();
    expect(isFactId("PATH-4")).toBe(true);
    expect(isFactId("path-4")).toBe(false);
    expect(isFactId("")).toBe(false);
  });
  it("cite their seeds, and the section where the table names one", () => {
    expect(citation(factById("OVL-2")!)).toBe("004_83d7ccb3d7026bad.txt");
    expect(citation(factById("WL-1")!)).toBe('000_d9014c85a6bbb97f.txt, 004_83d7ccb3d7026bad.txt "Exploring the Namespaces"');
    expect(FACTS.filter((f) => !f.section).map((f) => f.id)).toEqual(["OVL-2", "VXLAN-1", "VXLAN-2"]);
  });
});
