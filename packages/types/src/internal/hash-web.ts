// Streaming hashes for browsers and other non-Node runtimes, on @noble/hashes
// (crypto.subtle cannot hash incrementally).
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";

/** An incremental hash. */
export interface Hasher {
  update(chunk: Uint8Array): void;
  /** The lowercase hex digest; the hasher cannot be used afterwards. */
  digestHex(): string;
}

const impls = { sha256, sha384, sha512 } as const;

export function createHasher(algorithm: "sha256" | "sha384" | "sha512"): Hasher {
  const h = impls[algorithm].create();
  return {
    update(chunk) {
      h.update(chunk);
    },
    digestHex() {
      const out = h.digest();
      let s = "";
      for (const b of out) s += b.toString(16).padStart(2, "0");
      return s;
    },
  };
}
