import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { signatureMechanismConformance } from "@stevedore/testing";
import { openpgpMechanismProvider } from "@stevedore/signature-openpgp";

signatureMechanismConformance({ describe, test, expect, beforeAll, afterAll }, "openpgp", () => ({
  provider: openpgpMechanismProvider,
  newSigningMechanism: ({ secretKeys }) => openpgpMechanismProvider.newMechanism({ keys: secretKeys }),
}));
