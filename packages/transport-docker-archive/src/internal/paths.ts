/**
 * POSIX path helpers for names inside an archive. Names are compared after
 * lexical cleaning (the rules of Go's `path.Clean`), never resolved against
 * the file system.
 */

/** Lexically cleans a slash-separated path: no empty, `.` or resolvable `..` components. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/** The directory part of a cleaned path (`.` for a top-level name). */
export function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return p.slice(0, i);
}

/** Whether a cleaned path stays inside the archive root (relative, not `..` or below it). */
export function staysInside(cleaned: string): boolean {
  return !cleaned.startsWith("/") && cleaned !== ".." && !cleaned.startsWith("../");
}
