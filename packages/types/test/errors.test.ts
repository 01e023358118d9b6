import { describe, expect, test } from "vitest";
import {
  AbortError,
  DigestMismatchError,
  InvalidReferenceError,
  StevedoreError,
  UnknownTransportError,
  throwIfAborted,
} from "@stevedore/types";

describe("StevedoreError", () => {
  test("subclasses carry a stable code, a name and the cause", () => {
    const cause = new Error("low level");
    const e = new InvalidReferenceError("bad reference \"X\"", { cause });
    expect(e.code).toBe("ERR_INVALID_REFERENCE");
    expect(e.name).toBe("InvalidReferenceError");
    expect(e.cause).toBe(cause);
    expect(e).toBeInstanceOf(InvalidReferenceError);
    expect(e).toBeInstanceOf(StevedoreError);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(DigestMismatchError);
  });

  test("instanceof works across two copies of the package", async () => {
    // A second module instance of the same file stands in for a second copy in node_modules.
    const specifier = "../dist/errors.js" + "?second-copy";
    const other = (await import(/* @vite-ignore */ specifier)) as typeof import("@stevedore/types");
    expect(other.InvalidReferenceError).not.toBe(InvalidReferenceError);
    const foreign = new other.InvalidReferenceError("x");
    expect(foreign).toBeInstanceOf(InvalidReferenceError);
    expect(foreign).toBeInstanceOf(StevedoreError);
    expect(foreign).not.toBeInstanceOf(DigestMismatchError);
    expect(new InvalidReferenceError("y")).toBeInstanceOf(other.StevedoreError);
    expect(new Error("plain")).not.toBeInstanceOf(other.StevedoreError);
  });

  test("UnknownTransportError lists the known transports", () => {
    const e = new UnknownTransportError("dokcer", ["dir", "docker", "oci"]);
    expect(e.message).toBe('unknown transport "dokcer"; known transports: dir, docker, oci');
    expect(e.known).toEqual(["dir", "docker", "oci"]);
  });

  test("DigestMismatchError names the thing and both digests", () => {
    const e = new DigestMismatchError("layer 2 of oci:/x", "sha256:aa", "sha256:bb");
    expect(e.message).toContain("layer 2 of oci:/x");
    expect(e.message).toContain("expected sha256:aa, got sha256:bb");
  });

  test("throwIfAborted() throws AbortError only when aborted", () => {
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal)).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
    ac.abort(new Error("user pressed ^C"));
    expect(() => throwIfAborted(ac.signal)).toThrow(AbortError);
  });
});
