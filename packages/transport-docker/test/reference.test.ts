import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parseNormalizedNamed } from "@stevedore/reference";
import { createDockerTransport, dockerReferenceNamespaces, dockerTransport, DockerImageReference } from "@stevedore/transport-docker";
import { createTransportRegistry, imageName, InvalidReferenceError } from "@stevedore/types";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("dockerTransport.parseReference()", () => {
  test("parseReference() normalises a familiar name and adds :latest", () => {
    const ref = dockerTransport.parseReference("//busybox");
    expect(ref).toBeInstanceOf(DockerImageReference);
    expect(ref.dockerReference().toString()).toBe("docker.io/library/busybox:latest");
    expect(ref.stringWithinTransport()).toBe("//busybox:latest");
    expect(ref.policyConfigurationIdentity()).toBe("docker.io/library/busybox:latest");
    expect(ref.domain).toBe("docker.io");
    expect(ref.repository).toBe("library/busybox");
  });

  test("parseReference() keeps a registry host with a port, a namespace and a digest", () => {
    const ref = dockerTransport.parseReference(`//localhost:5000/ns/app@${DIGEST}`);
    expect(ref.policyConfigurationIdentity()).toBe(`localhost:5000/ns/app@${DIGEST}`);
    expect(ref.stringWithinTransport()).toBe(`//localhost:5000/ns/app@${DIGEST}`);
    expect(ref.tagOrDigest).toBe(DIGEST);
    expect(ref.transport).toBe(dockerTransport);
  });

  test("parseReference() without a leading // fails with InvalidReferenceError", () => {
    expect(() => dockerTransport.parseReference("busybox")).toThrow(InvalidReferenceError);
    expect(() => dockerTransport.parseReference("/busybox")).toThrow(/does not start with "\/\/"/);
  });

  test("parseReference() of a tag and a digest together fails with InvalidReferenceError", () => {
    expect(() => dockerTransport.parseReference(`//busybox:1@${DIGEST}`)).toThrow(/both a tag and a digest/);
  });

  test("parseReference() of invalid names fails with InvalidReferenceError", () => {
    for (const s of ["//", "//quay.io/UPPER", "//a:b:c", `//${"a".repeat(64)}`, "//busybox@sha256:abc", "//-x"]) {
      expect(() => dockerTransport.parseReference(s), s).toThrow(InvalidReferenceError);
    }
  });

  test("stringWithinTransport() round-trips through parseReference()", () => {
    const component = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(fc.option(fc.constantFrom("quay.io", "localhost:5000", "[::1]:5000", "docker.io")), fc.array(component, { minLength: 1, maxLength: 3 }), fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/)), (host, parts, tag) => {
        const text = `//${host ? `${host}/` : ""}${parts.join("/")}${tag ? `:${tag}` : ""}`;
        const ref = dockerTransport.parseReference(text);
        const again = dockerTransport.parseReference(ref.stringWithinTransport());
        expect(again.policyConfigurationIdentity()).toBe(ref.policyConfigurationIdentity());
      }),
    );
  });

  test("the transport parses docker:// names through a transport registry", () => {
    const registry = createTransportRegistry([dockerTransport]);
    const ref = registry.parseImageName("docker://quay.io/org/img:1");
    expect(imageName(ref)).toBe("docker://quay.io/org/img:1");
  });

  test("newReference() wraps an already parsed reference and refuses a bare name", () => {
    const ref = dockerTransport.newReference(parseNormalizedNamed("quay.io/a/b:2"));
    expect(ref.policyConfigurationIdentity()).toBe("quay.io/a/b:2");
    expect(() => dockerTransport.newReference(parseNormalizedNamed("quay.io/a/b"))).toThrow(/neither a tag nor a digest/);
  });

  test("createDockerTransport() validates its options", () => {
    expect(() => createDockerTransport({ idleTimeoutMs: -1 })).toThrow(TypeError);
    expect(() => createDockerTransport({ trustedTokenRealms: ["not a url"] })).toThrow(TypeError);
    expect(createDockerTransport({ trustedTokenRealms: ["https://auth.example.com/token"] }).name).toBe("docker");
  });
});

describe("policyConfigurationNamespaces()", () => {
  test("policyConfigurationNamespaces() lists parent namespaces, then wildcard domains", () => {
    expect(dockerTransport.parseReference("//example.com:8443/ns/sub/app:1").policyConfigurationNamespaces()).toEqual([
      "example.com:8443/ns/sub/app",
      "example.com:8443/ns/sub",
      "example.com:8443/ns",
      "example.com:8443",
      "*.com",
    ]);
    expect(dockerTransport.parseReference("//busybox").policyConfigurationNamespaces()).toEqual([
      "docker.io/library/busybox",
      "docker.io/library",
      "docker.io",
      "*.io",
    ]);
    expect(dockerReferenceNamespaces(parseNormalizedNamed("a.b.example.org/x:1"))).toEqual(["a.b.example.org/x", "a.b.example.org", "*.b.example.org", "*.example.org", "*.org"]);
    expect(dockerTransport.parseReference("//localhost/x:1").policyConfigurationNamespaces()).toEqual(["localhost/x", "localhost"]);
  });
});

describe("validatePolicyConfigurationScope()", () => {
  test("validatePolicyConfigurationScope() accepts any scope, as containers/image does", () => {
    for (const s of ["docker.io", "*.example.com", "quay.io/ns/repo:tag", "anything at all"]) {
      expect(() => dockerTransport.validatePolicyConfigurationScope(s)).not.toThrow();
    }
  });
});
