// Measures the throughput of a 1 GiB pipe on this Node.js through the two
// candidate body types of the contracts: AsyncIterable<Uint8Array> and
// ReadableStream<Uint8Array>. Each pipe is source -> pass-through stage that
// counts and hashes (as a digest verifier does) -> sink. Prints MB/s.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";

const TOTAL = Number(process.env.STREAM_BENCH_BYTES ?? 1024 * 1024 * 1024);
const CHUNK = 64 * 1024;
const chunk = new Uint8Array(CHUNK).map((_, i) => i & 0xff);
const hashing = process.argv.includes("--hash");

async function* source() {
  for (let n = 0; n < TOTAL; n += CHUNK) yield chunk.slice(0, Math.min(CHUNK, TOTAL - n));
}

async function viaAsyncIterable() {
  async function* verify(src) {
    const h = hashing ? createHash("sha256") : null;
    let size = 0;
    for await (const c of src) { size += c.byteLength; h?.update(c); yield c; }
    h?.digest("hex");
    if (size !== TOTAL) throw new Error("size");
  }
  let got = 0;
  for await (const c of verify(source())) got += c.byteLength;
  return got;
}

async function viaWebStream() {
  const src = ReadableStream.from(source());
  const h = hashing ? createHash("sha256") : null;
  let size = 0;
  const verify = new TransformStream({
    transform(c, ctl) { size += c.byteLength; h?.update(c); ctl.enqueue(c); },
    flush() { h?.digest("hex"); if (size !== TOTAL) throw new Error("size"); },
  });
  let got = 0;
  const reader = src.pipeThrough(verify).getReader();
  for (;;) { const { done, value } = await reader.read(); if (done) break; got += value.byteLength; }
  return got;
}

async function viaNodeReadableAsIterable() {
  // what fs/undici hand us: a Node Readable consumed as an AsyncIterable
  const r = Readable.from(source(), { objectMode: false });
  const h = hashing ? createHash("sha256") : null;
  let got = 0;
  for await (const c of r) { got += c.byteLength; h?.update(c); }
  h?.digest("hex");
  return got;
}

const cases = { asyncIterable: viaAsyncIterable, readableStream: viaWebStream, nodeReadable: viaNodeReadableAsIterable };
for (let round = 0; round < 2; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    const t0 = performance.now();
    const n = await fn();
    const s = (performance.now() - t0) / 1000;
    if (round === 1) console.log(`${name.padEnd(16)} ${hashing ? "hash" : "pass"} ${(n / 1e6 / s).toFixed(0).padStart(6)} MB/s  (${s.toFixed(2)} s for ${(n / 2 ** 30).toFixed(2)} GiB)`);
  }
}
