import type { ArtifactKind, BlobInfo, ProgressEvent, ProgressListener } from "@stevedore/types";

/** Progress events and skopeo-style lines, from one place. */
export class Reporter {
  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly writer: ((line: string) => void) | undefined,
  ) {}

  event(e: ProgressEvent): void {
    try {
      this.listener?.(e);
    } catch {
      // A listener must not break a copy.
    }
  }

  line(text: string): void {
    try {
      this.writer?.(text);
    } catch {
      // ignore
    }
  }

  started(artifact: BlobInfo, kind: ArtifactKind): void {
    this.event({ type: "artifact-started", artifact, kind });
  }

  bytes(artifact: BlobInfo, kind: ArtifactKind, offset: number, delta: number): void {
    this.event({ type: "artifact-bytes", artifact, kind, offset, delta });
  }

  done(artifact: BlobInfo, kind: ArtifactKind, size: number): void {
    this.event({ type: "artifact-done", artifact, kind, size });
    this.line(`Copying ${kind === "config" ? "config" : "blob"} ${short(artifact.digest)} done`);
  }

  skipped(artifact: BlobInfo, kind: ArtifactKind, reason: string): void {
    this.event({ type: "artifact-skipped", artifact, kind, reason });
    this.line(`Copying ${kind === "config" ? "config" : "blob"} ${short(artifact.digest)} skipped: ${reason}`);
  }
}

/** `sha256:0123456789ab` — the short form skopeo prints. */
export function short(d: string | undefined): string {
  if (d === undefined) return "(unknown digest)";
  const i = d.indexOf(":");
  return d.slice(0, i + 13);
}
