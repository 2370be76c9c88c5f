import "reflect-metadata";
import { generateKeyPair, randomBytes, randomInt, webcrypto } from "node:crypto";
import { promisify } from "node:util";
import * as x509 from "@peculiar/x509";
import type { SandboxMerchant } from "./credentials";

/**
 * Generating the sandbox's test keys and certificates (loadOrCreateCredentials in credentials.ts decides what is
 * missing): RSA key pairs, a WeChat Pay-like platform certificate, the App Store chain, Alipay's certificate-mode
 * root, a new merchant's ids and secrets. Everything generated here is for the sandbox only.
 */

// @peculiar/x509 wants the DOM Crypto type; Node's webcrypto is that object.
x509.cryptoProvider.set(webcrypto as never);

/**
 * RSA key generation is the slow part of a first start (a prime search, 0.1–1 s a key): it runs on libuv's thread
 * pool so the keys of a first start are found in parallel rather than one after another on the event loop.
 */
export const rsaPair = async () => {
  const { publicKey, privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
  return {
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
};

export const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
export const hex = (bytes: number) => randomBytes(bytes).toString("hex").toUpperCase();
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const alnum = (n: number) => Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]).join("");

const RSA_SHA256 = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const YEAR = 365 * 24 * 3600_000;

const pemOf = (kind: string, der: ArrayBuffer) =>
  `-----BEGIN ${kind}-----\n${Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd()}\n-----END ${kind}-----\n`;
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
const importPublic = (pem: string) =>
  webcrypto.subtle.importKey("spki", derOf(pem), RSA_SHA256, true, ["verify"]);
const importPrivate = (pem: string) =>
  webcrypto.subtle.importKey("pkcs8", derOf(pem), RSA_SHA256, true, ["sign"]);

/** A positive 20-byte serial in hex, as the gateways' certificates have. */
const serial = () => `5${hex(20).slice(1)}`;

/** A platform certificate like WeChat Pay's: RSA 2048, SHA256withRSA, a 40-hex-digit serial, 5 years. */
export async function platformCertificate() {
  const keys = await webcrypto.subtle.generateKey(RSA_SHA256, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 24 * 3600_000);
  const notAfter = new Date(notBefore.getTime() + 5 * YEAR);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=Tenpay.com sandbox platform certificate, O=paykit sandbox (test only), C=CN",
    notBefore,
    notAfter,
    signingAlgorithm: RSA_SHA256,
    keys,
  });
  return {
    serialNo: certificate.serialNumber.toUpperCase(),
    certificatePem: certificate.toString("pem"),
    privateKey: pemOf("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
  };
}

/**
 * A merchant API certificate like WeChat Pay's apiclient_cert.pem: the merchant's own key, its serial the one the
 * merchant signs requests with (self-signed here; WeChat's CA issues the real one). `paykit doctor` checks a
 * configured serialNo, private key and expiry against it.
 */
export async function merchantCertificate(m: {
  mchId: string;
  serialNo: string;
  publicKey: string;
  privateKey: string;
}) {
  const notBefore = new Date(Date.now() - 24 * 3600_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: m.serialNo,
    name: `CN=${m.mchId}, OU=paykit sandbox (test only), O=Tenpay.com merchant API certificate, C=CN`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 5 * YEAR),
    signingAlgorithm: RSA_SHA256,
    keys: { publicKey: await importPublic(m.publicKey), privateKey: await importPrivate(m.privateKey) },
  });
  return certificate.toString("pem");
}

const ALIPAY_ROOT_NAME =
  "CN=Ant Financial Certification Authority Sandbox Root, OU=paykit sandbox (test only), O=Ant Financial, C=CN";

const P256 = { name: "ECDSA", namedCurve: "P-256" };
const ES256 = { name: "ECDSA", hash: "SHA-256" };
/** The marker extensions Apple's verifiers look for: App Store receipt signing (leaf) and its intermediate CA. */
const APPLE_LEAF_OID = "1.2.840.113635.100.6.11.1";
const APPLE_INTERMEDIATE_OID = "1.2.840.113635.100.6.2.1";
const ASN1_NULL = new Uint8Array([0x05, 0x00]);

/** A test App Store signing chain: root CA -> intermediate CA -> leaf, P-256, with Apple's marker extensions. */
export async function appleChain() {
  const [rootKeys, intKeys, leafKeys] = await Promise.all(
    [0, 1, 2].map(() => webcrypto.subtle.generateKey(P256, true, ["sign", "verify"])),
  );
  if (!rootKeys || !intKeys || !leafKeys) throw new Error("key generation failed");
  const notBefore = new Date(Date.now() - 24 * 3600_000);
  const notAfter = new Date(notBefore.getTime() + 10 * YEAR);
  const caUsage = new x509.KeyUsagesExtension(
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    true,
  );
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=paykit sandbox App Store Root CA (test only), O=paykit sandbox, C=CN",
    notBefore,
    notAfter,
    signingAlgorithm: ES256,
    keys: rootKeys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), caUsage],
  });
  const intermediate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=paykit sandbox App Store Intermediate CA (test only), O=paykit sandbox, C=CN",
    issuer: root.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ES256,
    publicKey: intKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      caUsage,
      new x509.Extension(APPLE_INTERMEDIATE_OID, false, ASN1_NULL),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=paykit sandbox App Store Receipt Signing (test only), O=paykit sandbox, C=CN",
    issuer: intermediate.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ES256,
    publicKey: leafKeys.publicKey,
    signingKey: intKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.Extension(APPLE_LEAF_OID, false, ASN1_NULL),
    ],
  });
  return {
    rootCertificate: root.toString("pem"),
    intermediateCertificate: intermediate.toString("pem"),
    leafCertificate: leaf.toString("pem"),
    leafPrivateKey: pemOf("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey)),
  };
}

/** Certificate mode's root CA, and the Alipay public key's certificate under it. */
export async function alipayCertificates(alipayPublicKey: string) {
  const keys = await webcrypto.subtle.generateKey(RSA_SHA256, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 24 * 3600_000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: ALIPAY_ROOT_NAME,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 20 * YEAR),
    signingAlgorithm: RSA_SHA256,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const rootPrivateKey = pemOf("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    rootCertificate: root.toString("pem"),
    rootPrivateKey,
    publicKeyCertificate: await issueUnderRoot(
      rootPrivateKey,
      alipayPublicKey,
      "CN=Alipay public key (sandbox), O=Ant Financial, C=CN",
    ),
  };
}

/** A certificate for `publicKey`, issued by the sandbox's Alipay root CA. */
export async function issueUnderRoot(
  rootPrivateKey: string,
  publicKey: string,
  subject: string,
): Promise<string> {
  const notBefore = new Date(Date.now() - 24 * 3600_000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ALIPAY_ROOT_NAME,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 5 * YEAR),
    signingAlgorithm: RSA_SHA256,
    publicKey: await importPublic(publicKey),
    signingKey: await importPrivate(rootPrivateKey),
  });
  return cert.toString("pem");
}

export async function newMerchant(index: number): Promise<SandboxMerchant> {
  const [merchantKeys, appKeys] = await Promise.all([rsaPair(), rsaPair()]);
  return {
    name: index === 0 ? "paykit demo tea shop" : `paykit test merchant ${index + 1}`,
    wechat: {
      mchId: `19${digits(8)}`,
      appIds: {
        miniProgram: `wx${hex(8).toLowerCase()}`,
        officialAccount: `wx${hex(8).toLowerCase()}`,
        app: `wx${hex(8).toLowerCase()}`,
      },
      apiV3Key: alnum(32),
      merchantSerialNo: hex(20),
      merchantPublicKey: merchantKeys.publicKey,
      merchantPrivateKey: merchantKeys.privateKey,
    },
    alipay: {
      appId: `2021${digits(12)}`,
      sellerId: `2088${digits(12)}`,
      appPublicKey: appKeys.publicKey,
      appPrivateKey: appKeys.privateKey,
    },
  };
}
