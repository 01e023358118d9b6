import { lstatSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { InvalidReferenceError } from "@stevedore/types";

const SEPARATOR = String.raw`(?:[-._:@+]|--)`;
const ALPHANUM = "[A-Za-z0-9]+";
const COMPONENT = `${ALPHANUM}(?:${SEPARATOR}${ALPHANUM})*`;

/**
 * The grammar of an `org.opencontainers.image.ref.name` Stevedore accepts in
 * `oci:` and `oci-archive:` references, as containers/image's: components of
 * letters and digits joined by one of `-._:@+` or `--`, separated by `/`.
 */
export const IMAGE_NAME_REGEXP: RegExp = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** The parts of an `oci:`/`oci-archive:` reference: `path[:image]` or `path:@index`. */
export interface OCIReferenceElements {
  /** The layout directory (or archive file), as written. */
  path: string;
  /** The image name (`org.opencontainers.image.ref.name`); "" when none. */
  image: string;
  /** A zero-based position in index.json (`path:@N`, sources only), or undefined. */
  sourceIndex: number | undefined;
}

/** Splits `path[:image]` at the first colon (paths cannot contain one); the image is "" without a colon. */
export function splitPathAndImage(reference: string): { path: string; image: string } {
  const i = reference.indexOf(":");
  if (i < 0) return { path: reference, image: "" };
  return { path: reference.slice(0, i), image: reference.slice(i + 1) };
}

/**
 * Checks an image name against {@link IMAGE_NAME_REGEXP}; "" (no name) is
 * valid. Throws `InvalidReferenceError` naming the input.
 */
export function validateImageName(image: string): void {
  if (image === "") return;
  if (!IMAGE_NAME_REGEXP.test(image)) {
    throw new InvalidReferenceError(
      `invalid image name ${JSON.stringify(image)}: expected components of letters and digits joined by one of "-._:@+" or "--", separated by "/"`,
    );
  }
}

/**
 * Parses the text after `oci:` or `oci-archive:`: the path, then after the
 * first colon an image name or `@N` (a position in index.json). The path
 * must be non-empty and contain no colon. Throws `InvalidReferenceError`.
 */
export function parseOCIReferenceElements(reference: string, transportName = "oci"): OCIReferenceElements {
  const { path, image } = splitPathAndImage(reference);
  if (path === "") {
    throw new InvalidReferenceError(`invalid ${transportName}: reference ${JSON.stringify(reference)}: the path is empty`);
  }
  if (path.includes("\0")) throw new InvalidReferenceError(`invalid ${transportName}: reference: the path contains a NUL byte`);
  if (image.startsWith("@")) {
    const n = image.slice(1);
    if (!/^\d+$/.test(n)) {
      throw new InvalidReferenceError(`invalid ${transportName}: reference ${JSON.stringify(reference)}: source index "@${n}" is not a non-negative integer`);
    }
    const sourceIndex = Number(n);
    if (!Number.isSafeInteger(sourceIndex)) {
      throw new InvalidReferenceError(`invalid ${transportName}: reference ${JSON.stringify(reference)}: source index "@${n}" is too large`);
    }
    return { path, image: "", sourceIndex };
  }
  validateImageName(image);
  return { path, image, sourceIndex: undefined };
}

/**
 * Go's `filepath.Clean` for POSIX paths: the shortest equivalent path
 * (no `.`/`..` where avoidable, no repeated or trailing `/`).
 */
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
  const s = out.join("/");
  if (rooted) return "/" + s;
  return s === "" ? "." : s;
}

/**
 * Checks a policy.json scope of the `oci`/`oci-archive` transports: an
 * absolute, clean path other than `/` (which would shadow the default `""`).
 */
export function validateOCIScope(scope: string): void {
  if (!scope.startsWith("/")) throw new InvalidReferenceError(`invalid scope ${JSON.stringify(scope)}: must be an absolute path`);
  if (scope === "/") throw new InvalidReferenceError(`invalid scope "/": use the default scope "" instead`);
  const clean = cleanPath(scope);
  if (clean !== scope) {
    throw new InvalidReferenceError(`invalid scope ${JSON.stringify(scope)}: not in canonical form; use ${JSON.stringify(clean)}`);
  }
}

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

/**
 * The path made absolute, with every symbolic link resolved, as
 * containers/image's `ResolvePathToFullyExplicit`: every component must
 * exist, except that the last may be a name that does not exist yet (but not
 * a dangling symbolic link). Throws `InvalidReferenceError` otherwise.
 */
export function resolvePathToFullyExplicit(path: string): string {
  const abs = resolve(path);
  try {
    lstatSync(abs);
  } catch (e) {
    if (errno(e) !== "ENOENT") throw new InvalidReferenceError(`cannot resolve ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
    const parent = dirname(abs);
    let resolvedParent: string;
    try {
      resolvedParent = realpathSync.native(parent);
    } catch (e2) {
      throw new InvalidReferenceError(`cannot use ${JSON.stringify(path)}: its parent directory ${parent} does not exist or cannot be resolved`, { cause: e2 });
    }
    return join(resolvedParent, basename(abs));
  }
  try {
    return realpathSync.native(abs);
  } catch (e) {
    throw new InvalidReferenceError(`cannot resolve ${JSON.stringify(path)}: ${errno(e) === "ENOENT" ? "it is a dangling symbolic link" : (e as Error).message}`, { cause: e });
  }
}

/**
 * The policy namespaces of a resolved path, as containers/image's `oci`
 * transport lists them: the path itself, then each parent directory, most
 * specific first, without `/`.
 */
export function ociPolicyNamespaces(resolvedPath: string): string[] {
  const out: string[] = [];
  let p = resolvedPath;
  for (;;) {
    const i = p.lastIndexOf("/");
    if (i === -1 || p === "/") break;
    out.push(p);
    p = p.slice(0, i);
  }
  return out;
}
