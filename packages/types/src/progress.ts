import type { BlobInfo } from "./blob.js";

/** What kind of blob a progress event is about. */
export type ArtifactKind = "layer" | "config" | "manifest" | "signature";

/** Progress events of a copy, in the order they happen for each artifact. */
export type ProgressEvent =
  | { type: "artifact-started"; artifact: BlobInfo; kind: ArtifactKind; instance?: string }
  | { type: "artifact-bytes"; artifact: BlobInfo; kind: ArtifactKind; offset: number; delta: number }
  | { type: "artifact-done"; artifact: BlobInfo; kind: ArtifactKind; size: number }
  | { type: "artifact-skipped"; artifact: BlobInfo; kind: ArtifactKind; reason: string }
  | { type: "message"; text: string };

/** A consumer of progress events. Must not throw and should return quickly. */
export type ProgressListener = (event: ProgressEvent) => void;
