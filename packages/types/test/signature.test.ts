import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SignatureInvalidError, decodeSignatureBlob, encodeSignatureBlob, utf8, type Signature } from "@stevedore/types";

describe("signature blob format", () => {
  test("simple-signing signatures are stored as their raw bytes", () => {
    const sig: Signature = { format: "simple-signing", untrustedSignature: Uint8Array.of(0xa3, 1, 2, 3) };
    const blob = encodeSignatureBlob(sig);
    expect([...blob]).toEqual([0xa3, 1, 2, 3]);
    expect(decodeSignatureBlob(blob)).toEqual(sig);
  });

  test("sigstore signatures round-trip through the 0x00-prefixed JSON form", () => {
    const sig: Signature = {
      format: "sigstore-json",
      untrustedMIMEType: "application/vnd.dev.cosign.simplesigning.v1+json",
      untrustedPayload: utf8('{"critical":{}}'),
      untrustedAnnotations: { "dev.cosignproject.cosign/signature": "MEUCIQ==" },
    };
    const blob = encodeSignatureBlob(sig);
    expect(blob[0]).toBe(0);
    expect(new TextDecoder().decode(blob.subarray(1, 15))).toBe("sigstore-json\n");
    const json = JSON.parse(new TextDecoder().decode(blob.subarray(15)));
    expect(json).toEqual({
      mimeType: sig.untrustedMIMEType,
      payload: btoa('{"critical":{}}'),
      annotations: sig.untrustedAnnotations,
    });
    expect(decodeSignatureBlob(blob)).toEqual(sig);
  });

  test.each([
    [Uint8Array.of(), /is empty/],
    [utf8("\0sigstore-json"), /missing format name terminator/],
    [utf8("\0x509\n{}"), /unsupported signature format "x509"/],
    [utf8("\0sigstore-json\nnot json"), /invalid sigstore-json data/],
    [utf8('\0sigstore-json\n{"mimeType":1,"payload":"","annotations":{}}'), /must have string "mimeType"/],
    [utf8('\0sigstore-json\n{"mimeType":"m","payload":"!!","annotations":{}}'), /payload is not base64/],
  ])("rejects malformed blob %#", (blob, msg) => {
    expect(() => decodeSignatureBlob(blob, "signature-1")).toThrow(SignatureInvalidError);
    expect(() => decodeSignatureBlob(blob, "signature-1")).toThrow(msg);
  });

  test("random blobs decode or fail with SignatureInvalidError (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          decodeSignatureBlob(b);
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureInvalidError);
        }
      }),
    );
  });
});
