// Test transports: the policy only needs the ImageReference contract, and no
// real transport package exists yet in this repository, so these implement
// the contract the way containers/image's docker and dir transports do.
import { parseNormalizedNamed, tagNameOnly } from "@stevedore/reference";
import type { UnparsedImage } from "@stevedore/policy";
import {
  defineTransport,
  InvalidReferenceError,
  UnsupportedError,
  type DockerReference,
  type ImageReference,
  type ImageTransport,
  type Signature,
} from "@stevedore/types";

function unsupported(): never {
  throw new UnsupportedError("the test transports cannot open images");
}

/** docker:-like namespaces: repository, its parent namespaces, the host, then `*.` wildcards of the host's parent domains. */
function dockerNamespaces(ref: DockerReference): string[] {
  const out: string[] = [];
  let name = ref.name;
  out.push(name);
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/")) {
    name = name.slice(0, i);
    out.push(name);
  }
  const host = name.replace(/:\d+$/, "");
  const labels = host.split(".");
  for (let i = 1; i < labels.length; i++) out.push(`*.${labels.slice(i).join(".")}`);
  return out;
}

/** A transport named `docker` whose references are docker references (a bare name gets `:latest`). */
export const testDockerTransport: ImageTransport = defineTransport({
  name: "docker",
  parseReference(s: string): ImageReference {
    const named = tagNameOnly(parseNormalizedNamed(s.replace(/^\/\//, "")));
    const transport = testDockerTransport;
    return {
      transport,
      stringWithinTransport: () => `//${named.toString()}`,
      dockerReference: () => named,
      policyConfigurationIdentity: () => named.toString(),
      policyConfigurationNamespaces: () => dockerNamespaces(named),
      newImageSource: unsupported,
      newImageDestination: unsupported,
      deleteImage: unsupported,
    };
  },
  validatePolicyConfigurationScope(scope: string): void {
    if (scope.startsWith("*.")) {
      if (!/^\*\.[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(scope)) throw new InvalidReferenceError(`invalid wildcard scope ${JSON.stringify(scope)}`);
      return;
    }
    parseNormalizedNamed(scope);
  },
});

/** A transport named `dir`: a path, no docker reference; scopes must be absolute paths other than "/". */
export const testDirTransport: ImageTransport = defineTransport({
  name: "dir",
  parseReference(path: string): ImageReference {
    if (!path.startsWith("/")) throw new InvalidReferenceError(`dir: path ${JSON.stringify(path)} is not absolute`);
    const transport = testDirTransport;
    const parents: string[] = [];
    for (let p = path; p.lastIndexOf("/") > 0; ) {
      p = p.slice(0, p.lastIndexOf("/"));
      parents.push(p);
    }
    return {
      transport,
      stringWithinTransport: () => path,
      dockerReference: () => undefined,
      policyConfigurationIdentity: () => path,
      policyConfigurationNamespaces: () => parents,
      newImageSource: unsupported,
      newImageDestination: unsupported,
      deleteImage: unsupported,
    };
  },
  validatePolicyConfigurationScope(scope: string): void {
    if (!scope.startsWith("/")) throw new InvalidReferenceError(`scope ${JSON.stringify(scope)} is not an absolute path`);
    if (scope === "/") throw new InvalidReferenceError('the scope "/" is not allowed; use ""');
    if (/\/\/|\/\.\.?(\/|$)|\/$/.test(scope)) throw new InvalidReferenceError(`scope ${JSON.stringify(scope)} is not a clean path`);
  },
});

/** An image for the policy: a reference, manifest bytes and signatures. */
export function image(reference: ImageReference, manifest: Uint8Array, signatures: Signature[]): UnparsedImage {
  return {
    reference,
    manifest: async () => ({ bytes: manifest, mimeType: "application/vnd.oci.image.manifest.v1+json" }),
    signatures: async () => signatures,
  };
}

/** A simple-signing signature value. */
export function simple(bytes: Uint8Array): Signature {
  return { format: "simple-signing", untrustedSignature: bytes };
}

export const enc = new TextEncoder();

/** Two distinct, valid OCI manifests. */
export const MANIFEST = enc.encode(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"b".repeat(64)}`, size: 7 },
    layers: [],
  }),
);
export const OTHER_MANIFEST = enc.encode(new TextDecoder().decode(MANIFEST).replace('"size":7', '"size":8'));

/** base64 of bytes (for keyData). */
export function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
