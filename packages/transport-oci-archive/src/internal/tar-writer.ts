import { once } from "node:events";
import { constants } from "node:fs";
import { lstat, open, readdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { pack, type Header } from "tar-stream";
import { readFileRange } from "@stevedore/oci-layout";
import { InvalidArchiveError, throwIfAborted } from "@stevedore/types";

interface LayoutFile {
  name: string;
  path: string;
  type: "file" | "directory";
  size: number;
  mtime: Date;
}

/** Every file and directory under `root`, sorted as a recursive walk in name order (parents first). Links are refused. */
async function listTree(root: string, rel = ""): Promise<LayoutFile[]> {
  const out: LayoutFile[] = [];
  const names = (await readdir(join(root, rel))).sort();
  for (const n of names) {
    const name = rel === "" ? n : `${rel}/${n}`;
    const path = join(root, name);
    const st = await lstat(path);
    if (st.isDirectory()) {
      out.push({ name: `${name}/`, path, type: "directory", size: 0, mtime: st.mtime });
      out.push(...(await listTree(root, name)));
    } else if (st.isFile()) {
      out.push({ name, path, type: "file", size: st.size, mtime: st.mtime });
    } else {
      throw new InvalidArchiveError(`${path} is neither a regular file nor a directory; refusing to archive it`);
    }
  }
  return out;
}

async function writeAll(fh: FileHandle, chunk: Uint8Array, at: number): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off, at + off);
    off += bytesWritten;
  }
}

/**
 * Writes the directory tree `root` as an uncompressed tar (tar-stream's
 * ustar/pax encoder) to `out`, from offset 0: entries in name order, owner
 * 0:0, directories 0755 and files 0644 (as containers/image archives
 * layouts), file contents streamed. Returns the number of bytes written.
 */
export async function writeTreeAsTar(root: string, out: FileHandle, signal?: AbortSignal): Promise<number> {
  const files = await listTree(root);
  const p = pack();
  let written = 0;
  const consumer = (async () => {
    try {
      for await (const chunk of p) {
        throwIfAborted(signal);
        const bytes = chunk as Uint8Array;
        await writeAll(out, bytes, written);
        written += bytes.byteLength;
      }
    } catch (e) {
      p.destroy(e as Error);
      throw e;
    }
  })();
  const producer = (async () => {
    try {
      for (const f of files) {
        throwIfAborted(signal);
        const header: Partial<Header> & { name: string } = { name: f.name, type: f.type, mode: f.type === "directory" ? 0o755 : 0o644, uid: 0, gid: 0, mtime: f.mtime, size: f.size };
        await new Promise<void>((resolve, reject) => {
          const sink = p.entry(header, (err) => (err ? reject(err) : resolve()));
          if (f.type === "directory") return;
          (async () => {
            const fh = await open(f.path, constants.O_RDONLY | constants.O_NOFOLLOW);
            try {
              for await (const c of readFileRange(fh, 0, f.size, signal)) {
                if (!sink.write(c)) await once(sink, "drain");
              }
            } finally {
              await fh.close();
            }
            (sink as unknown as { end(): void }).end();
          })().catch((e: unknown) => {
            sink.destroy(e as Error);
            reject(e);
          });
        });
      }
      p.finalize();
    } catch (e) {
      p.destroy(e as Error);
      throw e;
    }
  })();
  await Promise.all([producer, consumer]);
  return written;
}
