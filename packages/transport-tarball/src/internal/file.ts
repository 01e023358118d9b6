import type { BigIntStats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { throwIfAborted, type BlobStream } from "@stevedore/types";

const CHUNK = 256 * 1024;

/** Streams `fh` from its start to its end, then closes it (also when the consumer stops early). */
export async function* streamHandle(fh: FileHandle, size: number, signal: AbortSignal | undefined, onClose?: () => void): BlobStream {
  try {
    let pos = 0;
    for (;;) {
      throwIfAborted(signal);
      const want = Math.min(CHUNK, Math.max(size - pos, 16 * 1024));
      const buf = new Uint8Array(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    onClose?.();
    await fh.close().catch(() => {});
  }
}

/** What identifies a file's content without reading it: device, inode, size, mtime, ctime. */
export function fileIdentity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}
