/// <reference types="node" />
// Streaming hashes on Node's crypto (OpenSSL, SHA-NI where the CPU has it).
import { createHash } from "node:crypto";
import type { Hasher } from "./hash-web.js";

export type { Hasher };

export function createHasher(algorithm: "sha256" | "sha384" | "sha512"): Hasher {
  const h = createHash(algorithm);
  return {
    update(chunk) {
      h.update(chunk);
    },
    digestHex() {
      return h.digest("hex");
    },
  };
}
