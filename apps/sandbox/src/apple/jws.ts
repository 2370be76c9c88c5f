import { createPrivateKey, type KeyObject, sign } from "node:crypto";
import type { GatewayKeys } from "../credentials";

/**
 * How the App Store signs what it hands out: a compact JWS, ES256 (raw R||S), with the certificate chain in the
 * header's x5c, leaf first.
 * @see https://developer.apple.com/documentation/appstoreserverapi/jwstransaction
 */

export interface JwsSigner {
  key: KeyObject;
  /** The chain in x5c: base64 DER certificates, leaf first. */
  x5c: string[];
}

const der = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, "");
const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url");

/** The sandbox's App Store signer (its test chain), or undefined when the credentials have no chain. */
export function appStoreSigner(chain: GatewayKeys["apple"]): JwsSigner | undefined {
  return chain
    ? {
        key: createPrivateKey(chain.leafPrivateKey),
        x5c: [chain.leafCertificate, chain.intermediateCertificate, chain.rootCertificate].map(der),
      }
    : undefined;
}

/** Signs a payload as the App Store does: compact JWS, ES256 (raw R||S), the chain in x5c, leaf first. */
export function signJws(payload: object, signer: JwsSigner | undefined): string {
  if (!signer) throw new Error("the sandbox has no App Store chain");
  const input = `${b64url(JSON.stringify({ alg: "ES256", x5c: signer.x5c }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(sign("sha256", Buffer.from(input), { key: signer.key, dsaEncoding: "ieee-p1363" }))}`;
}
