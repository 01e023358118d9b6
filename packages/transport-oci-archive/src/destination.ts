import { constants } from "node:fs";
import { lstat, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsyncDirectory, openLayoutDestination, removeStaleTemporaries, temporaryName, type LayoutImageDestination } from "@stevedore/oci-layout";
import {
  DestinationExistsError,
  throwIfAborted,
  type BlobInfo,
  type BlobStream,
  type CommitOptions,
  type Digest,
  type ImageDestination,
  type ImageDestinationCapabilities,
  type ImageReference,
  type IoOptions,
  type PutBlobOptions,
  type ReusedBlob,
  type Signature,
  type StoredBlob,
  type SystemContext,
  type TryReusingBlobOptions,
} from "@stevedore/types";
import { bigFilesTemporaryDir } from "./internal/tmpdir.js";
import { writeTreeAsTar } from "./internal/tar-writer.js";

/** The prefix of the temporary layout directories an `oci-archive:` destination writes into. */
export const LAYOUT_TEMP_PREFIX = "stevedore-oci-archive-layout-";

/** Options of {@link openArchiveDestination}. */
export interface ArchiveDestinationOptions extends IoOptions {
  reference: ImageReference;
  /** The archive file (absolute). */
  file: string;
  /** The image name recorded in the archive's index.json ("" for none). */
  image: string;
  /** The transport-qualified location for messages. */
  where: string;
}

/**
 * Opens an `oci-archive:` destination: the image is written as an OCI
 * layout into a private temporary directory (under the big-files temporary
 * directory); `commit()` commits that layout, tars it into a temporary file
 * next to the archive, fsyncs it and renames it over the archive, so the
 * archive is either the old one or the complete new one — never half
 * written. As containers/image does, the new archive holds only the image
 * written (other images of an existing archive are not kept).
 * `ociSharedBlobDirPath` is ignored: an archive must hold its blobs.
 */
export async function openArchiveDestination(ctx: SystemContext, options: ArchiveDestinationOptions): Promise<OCIArchiveDestination> {
  const { file, signal, where } = options;
  throwIfAborted(signal);
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) throw new DestinationExistsError(`${where}: ${file} is a directory, not an archive file`);
  const parent = dirname(file);
  await removeStaleTemporaries(parent, `.${basename(file)}.stevedore-`);
  const tmpRoot = await bigFilesTemporaryDir(ctx);
  await removeStaleTemporaries(tmpRoot, LAYOUT_TEMP_PREFIX);
  const work = join(tmpRoot, temporaryName(LAYOUT_TEMP_PREFIX));
  await mkdir(work, { mode: 0o700 });
  try {
    const inner = await openLayoutDestination({
      reference: options.reference,
      dir: join(work, "layout"),
      image: options.image,
      where,
      ...(ctx.ociAcceptUncompressedLayers ? { acceptUncompressedLayers: true } : {}),
      ...(signal ? { signal } : {}),
    });
    return new OCIArchiveDestination(options, inner, work);
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}

/** An image being written to an OCI archive. Made by {@link openArchiveDestination}. */
export class OCIArchiveDestination implements ImageDestination {
  readonly reference: ImageReference;
  readonly capabilities: ImageDestinationCapabilities;
  private readonly inner: LayoutImageDestination;
  private readonly work: string;
  private readonly file: string;
  private closed = false;

  constructor(options: ArchiveDestinationOptions, inner: LayoutImageDestination, work: string) {
    this.reference = options.reference;
    this.inner = inner;
    this.capabilities = inner.capabilities;
    this.work = work;
    this.file = options.file;
  }

  putBlob(stream: BlobStream, info: BlobInfo, options: PutBlobOptions): Promise<StoredBlob> {
    return this.inner.putBlob(stream, info, options);
  }

  tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    return this.inner.tryReusingBlob(info, options);
  }

  putManifest(bytes: Uint8Array, instanceDigest?: Digest, options?: IoOptions): Promise<void> {
    return this.inner.putManifest(bytes, instanceDigest, options);
  }

  putSignatures(signatures: readonly Signature[], instanceDigest?: Digest, options?: IoOptions): Promise<void> {
    return this.inner.putSignatures(signatures, instanceDigest, options);
  }

  async commit(options: CommitOptions = {}): Promise<void> {
    const { signal } = options;
    await this.inner.commit(options);
    throwIfAborted(signal);
    const parent = dirname(this.file);
    const tmp = join(parent, temporaryName(`.${basename(this.file)}.stevedore-`, ".tmp"));
    const previous = await lstat(this.file).catch(() => undefined);
    const out = await open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
    let ok = false;
    try {
      await writeTreeAsTar(join(this.work, "layout"), out, signal);
      await out.sync();
      if (previous?.isFile()) await out.chmod(previous.mode & 0o7777);
      await out.close();
      throwIfAborted(signal);
      await rename(tmp, this.file);
      ok = true;
    } finally {
      if (!ok) {
        await out.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
    await fsyncDirectory(parent);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.inner.close();
    } finally {
      await rm(this.work, { recursive: true, force: true });
    }
  }
}
