import { describe, expect, test } from "vitest";
import { AbortError } from "@stevedore/types";
import { Channel } from "../src/internal/channel.js";
import { mapBounded } from "../src/internal/concurrency.js";

describe("mapBounded()", () => {
  test("keeps order and never runs more than the limit at once", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapBounded([5, 1, 4, 2, 3, 0], 2, undefined, async (x) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, x));
      running--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  test("the first failure aborts the others and is thrown after all settled", async () => {
    const settled: number[] = [];
    const run = mapBounded([0, 1, 2], 3, undefined, async (x, _i, signal) => {
      if (x === 1) throw new Error("layer 1 broke");
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 10_000);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(new AbortError("aborted"));
        });
      });
      settled.push(x);
    });
    await expect(run).rejects.toThrow("layer 1 broke");
    expect(settled).toEqual([]);
  });

  test("an outer abort reaches the tasks", async () => {
    const ac = new AbortController();
    const run = mapBounded([1], 1, ac.signal, (_x, _i, signal) => new Promise((_r, reject) => signal.addEventListener("abort", () => reject(new AbortError("stop")))));
    ac.abort();
    await expect(run).rejects.toThrow(AbortError);
  });
});

describe("Channel", () => {
  test("delivers pushed items in order and ends", async () => {
    const ch = new Channel<number>(2);
    const producer = (async () => {
      for (let i = 0; i < 10; i++) await ch.push(i);
      ch.end();
    })();
    const got: number[] = [];
    for await (const x of ch) got.push(x);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("push waits while full and is released when the consumer goes away", async () => {
    const ch = new Channel<number>(1);
    await ch.push(1);
    let second = false;
    const p = ch.push(2).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(second).toBe(false);
    for await (const _ of ch) break;
    await p;
    expect(second).toBe(true);
    await ch.push(3); // dropped, does not hang
  });

  test("a failure reaches the consumer", async () => {
    const ch = new Channel<number>();
    ch.fail(new Error("source broke"));
    await expect((async () => {
      for await (const _ of ch) {
        // nothing
      }
    })()).rejects.toThrow("source broke");
  });
});
