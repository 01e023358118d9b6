import { randomBytes } from "node:crypto";
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { InvalidCompressedDataError } from "@stevedore/compression";
import { makeTar } from "@stevedore/testing";
import { InvalidArchiveError, InvalidReferenceError, UnsupportedError, utf8 } from "@stevedore/types";
import { newTarballReference } from "@stevedore/transport-tarball";
import { run, tempDir } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
});
afterEach(() => t.cleanup());

const tar = () => makeTar([{ name: "a.txt", content: utf8("hello") }, { name: "b.bin", content: new Uint8Array(randomBytes(3000)) }]);

async function open(name: string, bytes: Uint8Array) {
  const p = join(t.dir, name);
  await writeFile(p, bytes);
  const s = await newTarballReference([p]).newImageSource();
  await s.close();
}

async function failure(name: string, bytes: Uint8Array): Promise<Error> {
  return open(name, bytes).then(
    () => {
      throw new Error(`${name} was accepted`);
    },
    (e: Error) => e,
  );
}

describe("hostile layer files", () => {
  test("a text file fails with InvalidArchiveError naming it: not a tar archive", async () => {
    const e = await failure("notes.txt", utf8("just some notes\n".repeat(100)));
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(e.message).toMatch(/notes\.txt is not a tar archive/);
  });

  test("random bytes, a short file and an empty file fail with InvalidArchiveError", async () => {
    expect(await failure("random", new Uint8Array(randomBytes(5000)))).toBeInstanceOf(InvalidArchiveError);
    expect(await failure("short", utf8("tiny"))).toBeInstanceOf(InvalidArchiveError);
    expect(await failure("empty", new Uint8Array(0))).toBeInstanceOf(InvalidArchiveError);
  });

  test("a gzip file that holds no tar fails with InvalidArchiveError", async () => {
    const e = await failure("text.gz", new Uint8Array(gzipSync(utf8("not a tar\n".repeat(200)))));
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(e.message).toMatch(/text\.gz is not a tar archive/);
  });

  test("a truncated tar fails with InvalidArchiveError", async () => {
    const whole = tar();
    const e = await failure("cut.tar", whole.subarray(0, 512 + 1000));
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(e.message).toMatch(/truncated/);
  });

  test("a tar whose second header is corrupt fails with InvalidArchiveError naming the offset", async () => {
    const whole = tar();
    const second = 512 + 512; // a.txt's header and its one block of data
    whole[second + 10]! ^= 0xff;
    const e = await failure("bad.tar", whole);
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(e.message).toContain(`offset ${second}`);
  });

  test("a corrupted gzip fails with InvalidCompressedDataError (an InvalidArchiveError) naming the file", async () => {
    const gz = new Uint8Array(gzipSync(tar()));
    for (let i = 20; i < 60; i++) gz[i]! ^= 0x5a;
    const e = await failure("corrupt.tar.gz", gz);
    expect(e).toBeInstanceOf(InvalidCompressedDataError);
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(e.message).toContain("corrupt.tar.gz");
  });

  test("a gzip with a wrong CRC, a truncated gzip and garbage after the gzip stream fail with InvalidCompressedDataError", async () => {
    const gz = new Uint8Array(gzipSync(tar()));
    const crc = gz.slice();
    crc[crc.length - 6]! ^= 0xff;
    expect(await failure("crc.tar.gz", crc)).toBeInstanceOf(InvalidCompressedDataError);
    expect(await failure("cut.tar.gz", gz.subarray(0, gz.length - 30))).toBeInstanceOf(InvalidCompressedDataError);
    const tail = new Uint8Array(gz.length + 4);
    tail.set(gz);
    tail.set([1, 2, 3, 4], gz.length);
    expect(await failure("tail.tar.gz", tail)).toBeInstanceOf(InvalidCompressedDataError);
  });

  test("bzip2 and xz files fail with UnsupportedError: OCI has no such layers", async () => {
    await writeFile(join(t.dir, "l.tar"), tar());
    await run("bzip2", ["-k", join(t.dir, "l.tar")]);
    await run("xz", ["-k", join(t.dir, "l.tar")]);
    for (const f of ["l.tar.bz2", "l.tar.xz"]) {
      const e = await newTarballReference([join(t.dir, f)]).newImageSource().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as Error).message).toContain(f);
    }
  });

  test("a missing file fails at parse time with InvalidReferenceError; one removed before opening with InvalidArchiveError", async () => {
    expect(() => newTarballReference([join(t.dir, "nope.tar")])).toThrow(InvalidReferenceError);
    await writeFile(join(t.dir, "gone.tar"), tar());
    const ref = newTarballReference([join(t.dir, "gone.tar")]);
    await rm(join(t.dir, "gone.tar"));
    await expect(ref.newImageSource()).rejects.toBeInstanceOf(InvalidArchiveError);
  });

  test("failures leave no file descriptor open", async () => {
    const fds = async () => (await readdir("/proc/self/fd")).length;
    const gz = new Uint8Array(gzipSync(tar()));
    const before = await fds();
    for (let i = 0; i < 5; i++) {
      await failure(`t${i}.txt`, utf8("text"));
      const bad = gz.slice();
      bad[30]! ^= 0xff;
      await failure(`g${i}.gz`, bad);
      await failure(`r${i}`, new Uint8Array(randomBytes(2048)));
    }
    await writeFile(join(t.dir, "l.tar"), tar());
    await run("xz", ["-kf", join(t.dir, "l.tar")]);
    for (let i = 0; i < 5; i++) await newTarballReference([join(t.dir, "l.tar.xz")]).newImageSource().catch(() => {});
    expect(await fds()).toBeLessThanOrEqual(before);
  });
});
