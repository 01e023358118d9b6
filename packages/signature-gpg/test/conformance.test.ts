import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { signatureMechanismConformance } from "@stevedore/testing";
import { gpgMechanismProvider } from "@stevedore/signature-gpg";
import { openpgpMechanismProvider } from "@stevedore/signature-openpgp";

signatureMechanismConformance(
  { describe, test, expect, beforeAll, afterAll },
  "gpg",
  () => ({
    provider: gpgMechanismProvider,
    newSigningMechanism: ({ homeDir }) => gpgMechanismProvider.newMechanism({ homeDir }),
  }),
  {
    peers: {
      openpgp: () => ({
        provider: openpgpMechanismProvider,
        newSigningMechanism: ({ secretKeys }) => openpgpMechanismProvider.newMechanism({ keys: secretKeys }),
      }),
    },
  },
);
