import { describe, expect, test } from "vitest";
import {
  InvalidReferenceError,
  TRANSPORT_API_VERSION,
  UnknownTransportError,
  UnsupportedError,
  createTransportRegistry,
  defineTransport,
  imageName,
  type ImageReference,
  type ImageTransport,
} from "@stevedore/types";

function memoryTransport(name: string): ImageTransport {
  const t: ImageTransport = defineTransport({
    name,
    parseReference(s: string): ImageReference {
      if (s === "") throw new InvalidReferenceError(`${name}: empty reference`);
      return {
        transport: t,
        stringWithinTransport: () => s,
        dockerReference: () => undefined,
        policyConfigurationIdentity: () => s,
        policyConfigurationNamespaces: () => [],
        newImageSource: () => Promise.reject(new UnsupportedError("no source")),
        newImageDestination: () => Promise.reject(new UnsupportedError("no destination")),
        deleteImage: () => Promise.reject(new UnsupportedError("no delete")),
      };
    },
    validatePolicyConfigurationScope() {},
  });
  return t;
}

describe("defineTransport()", () => {
  test("returns a frozen descriptor with the API version", () => {
    const t = memoryTransport("mem");
    expect(Object.isFrozen(t)).toBe(true);
    expect(t.apiVersion).toBe(TRANSPORT_API_VERSION);
    expect(t.name).toBe("mem");
  });

  test("refuses a name that cannot appear before the colon", () => {
    expect(() => memoryTransport("Bad:Name")).toThrow(/invalid transport name/);
  });
});

describe("createTransportRegistry()", () => {
  const registry = createTransportRegistry([memoryTransport("zeta"), memoryTransport("alpha")]);

  test("parseImageName() splits at the first colon", () => {
    const ref = registry.parseImageName("alpha:some:thing:with:colons");
    expect(ref.transport.name).toBe("alpha");
    expect(ref.stringWithinTransport()).toBe("some:thing:with:colons");
    expect(imageName(ref)).toBe("alpha:some:thing:with:colons");
  });

  test("an unknown transport lists the known names", () => {
    expect(() => registry.parseImageName("docker://busybox")).toThrow(UnknownTransportError);
    expect(() => registry.parseImageName("docker://busybox")).toThrow('unknown transport "docker"; known transports: alpha, zeta');
  });

  test("a name without a transport is an invalid reference", () => {
    expect(() => registry.parseImageName("busybox")).toThrow(InvalidReferenceError);
    expect(() => registry.parseImageName(":x")).toThrow(InvalidReferenceError);
  });

  test("the transport's own parse errors pass through", () => {
    expect(() => registry.parseImageName("alpha:")).toThrow("alpha: empty reference");
  });

  test("listTransports() is sorted and get() finds by name", () => {
    expect(registry.listTransports()).toEqual(["alpha", "zeta"]);
    expect(registry.get("zeta")?.name).toBe("zeta");
    expect(registry.get("nope")).toBeUndefined();
  });

  test("two transports with one name are refused", () => {
    expect(() => createTransportRegistry([memoryTransport("a"), memoryTransport("a")])).toThrow(/two transports named "a"/);
  });
});
