import "reflect-metadata";
import { generateKeyPair, randomBytes, randomInt, webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import * as x509 from "@peculiar/x509";

// @peculiar/x509 wants the DOM Crypto type; Node's webcrypto is that object.
x509.cryptoProvider.set(webcrypto as never);

/** One test merchant: what the sandbox knows of it, and the secrets it hands the merchant (test-only). */
export interface SandboxMerchant {
  /** The merchant's name on pay pages. */
  name: string;
  wechat: {
    mchId: string;
    /** App ids bound to this mchid: mini program, official account (browsers), native app. */
    appIds: { miniProgram: string; officialAccount: string; app: string };
    apiV3Key: string;
    /** The merchant API certificate's serial and keys (the merchant signs requests with the private key). */
    merchantSerialNo: string;
    merchantPublicKey: string;
    merchantPrivateKey: string;
    /** Mini-program virtual payment (xpay) and the mini program's message push and login secrets. */
    virtual?: {
      offerId: string;
      appKey: string;
      sandboxAppKey: string;
      token: string;
      encodingAESKey: string;
      appSecret: string;
    };
  };
  alipay: {
    appId: string;
    sellerId: string;
    /** The app's key pair: the merchant signs with the private key, the gateway verifies with the public. */
    appPublicKey: string;
    appPrivateKey: string;
    /** Certificate mode: the app's public key in a certificate issued by the sandbox's Alipay root CA. */
    appCertificate?: string;
  };
  /** The iOS app's bundle id, for Apple in-app purchase. */
  appleBundleId?: string;
}

/** The gateway's own keys: the WeChat Pay platform certificate, the WeChat Pay public key, the Alipay key. */
export interface GatewayKeys {
  wechatPlatform: {
    serialNo: string;
    certificatePem: string;
    privateKey: string;
    notBefore: string;
    notAfter: string;
  };
  wechatPublicKey: { id: string; publicKey: string; privateKey: string };
  alipay: { publicKey: string; privateKey: string };
  /** The App Store's side: a root CA, an intermediate and a signing leaf (P-256), with Apple's marker extensions. */
  apple?: {
    rootCertificate: string;
    intermediateCertificate: string;
    leafCertificate: string;
    leafPrivateKey: string;
  };
  /** Certificate mode: the sandbox's Alipay root CA and the Alipay public key's certificate it issued. */
  alipayCertificates?: { rootCertificate: string; rootPrivateKey: string; publicKeyCertificate: string };
}

export interface SandboxCredentials {
  gateway: GatewayKeys;
  merchants: SandboxMerchant[];
}

/**
 * RSA key generation is the slow part of a first start (a prime search, 0.1–1 s a key): it runs on libuv's thread
 * pool so the keys of a first start are found in parallel rather than one after another on the event loop.
 */
const rsaPair = async () => {
  const { publicKey, privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
  return {
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
};

const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
const hex = (bytes: number) => randomBytes(bytes).toString("hex").toUpperCase();
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const alnum = (n: number) => Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]).join("");

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
async function platformCertificate() {
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

const ALIPAY_ROOT_NAME =
  "CN=Ant Financial Certification Authority Sandbox Root, OU=paykit sandbox (test only), O=Ant Financial, C=CN";

const P256 = { name: "ECDSA", namedCurve: "P-256" };
const ES256 = { name: "ECDSA", hash: "SHA-256" };
/** The marker extensions Apple's verifiers look for: App Store receipt signing (leaf) and its intermediate CA. */
const APPLE_LEAF_OID = "1.2.840.113635.100.6.11.1";
const APPLE_INTERMEDIATE_OID = "1.2.840.113635.100.6.2.1";
const ASN1_NULL = new Uint8Array([0x05, 0x00]);

/** A test App Store signing chain: root CA -> intermediate CA -> leaf, P-256, with Apple's marker extensions. */
async function appleChain() {
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
async function alipayCertificates(alipayPublicKey: string) {
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
async function issueUnderRoot(rootPrivateKey: string, publicKey: string, subject: string): Promise<string> {
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

async function newMerchant(index: number): Promise<SandboxMerchant> {
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

/** Writes a file so that a crash leaves either the old or the new content, never half of one. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * Loads the sandbox's keys from the data dir, generating them on first start (and a merchant per missing
 * index up to `merchantCount`). Everything generated here is for the sandbox only.
 */
export async function loadOrCreateCredentials(
  dataDir: string,
  merchantCount = 1,
): Promise<SandboxCredentials> {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "credentials.json");
  let credentials: SandboxCredentials;
  let changed = false;
  if (existsSync(file)) {
    credentials = JSON.parse(readFileSync(file, "utf8")) as SandboxCredentials;
  } else {
    const [publicKeyPair, wechatPlatform, alipay] = await Promise.all([
      rsaPair(),
      platformCertificate(),
      rsaPair(),
    ]);
    credentials = {
      gateway: {
        wechatPlatform,
        wechatPublicKey: { id: `PUB_KEY_ID_01${digits(28)}`, ...publicKeyPair },
        alipay,
      },
      merchants: [],
    };
    changed = true;
  }
  // Merchants, and the later additions that data dirs from before get now, are generated side by side.
  const { gateway } = credentials;
  const first = credentials.merchants.length;
  const [added, apple, alipayCerts] = await Promise.all([
    Promise.all(Array.from({ length: Math.max(0, merchantCount - first) }, (_, i) => newMerchant(first + i))),
    gateway.apple ?? appleChain(),
    gateway.alipayCertificates ?? alipayCertificates(gateway.alipay.publicKey),
  ]);
  if (added.length > 0 || !gateway.apple || !gateway.alipayCertificates) changed = true;
  credentials.merchants.push(...added);
  gateway.apple = apple;
  gateway.alipayCertificates = alipayCerts;
  for (const [index, m] of credentials.merchants.entries()) {
    if (!m.appleBundleId) {
      m.appleBundleId = `com.paykit.sandbox.shop${index + 1}`;
      changed = true;
    }
    if (!m.wechat.virtual) {
      m.wechat.virtual = {
        offerId: digits(10),
        appKey: alnum(32),
        sandboxAppKey: alnum(32),
        token: alnum(32),
        encodingAESKey: randomBytes(32).toString("base64").slice(0, 43),
        appSecret: hex(16).toLowerCase(),
      };
      changed = true;
    }
    if (!m.alipay.appCertificate) {
      m.alipay.appCertificate = await issueUnderRoot(
        alipayCerts.rootPrivateKey,
        m.alipay.appPublicKey,
        `CN=${m.alipay.appId}, OU=paykit sandbox (test only), O=${m.name}, C=CN`,
      );
      changed = true;
    }
  }
  if (changed) writeFileAtomic(file, JSON.stringify(credentials, null, 2));
  return credentials;
}

/** The file the api reads: every merchant's test credentials and where the sandbox listens. */
export function merchantConfig(credentials: SandboxCredentials, baseUrl: string) {
  const { gateway } = credentials;
  return {
    note: "Generated by @paykit/sandbox. Test-only credentials for the local sandbox gateway: not real, never for production.",
    sandboxUrl: baseUrl,
    merchants: credentials.merchants.map((m, index) => ({
      pid: index === 0 ? "default" : `merchant${index + 1}`,
      name: m.name,
      wxpay: {
        baseUrl,
        mchId: m.wechat.mchId,
        appId: {
          "mp-weixin": m.wechat.appIds.miniProgram,
          "h5-weixin": m.wechat.appIds.officialAccount,
          h5: m.wechat.appIds.officialAccount,
          "app-plus": m.wechat.appIds.app,
        },
        apiV3Key: m.wechat.apiV3Key,
        privateKey: m.wechat.merchantPrivateKey,
        serialNo: m.wechat.merchantSerialNo,
        publicKey: gateway.wechatPublicKey.publicKey,
        publicKeyId: gateway.wechatPublicKey.id,
        // The sandbox signs in either mode (SANDBOX_WECHAT_SIGN_MODE): verify with both, like a merchant in transition.
        platformCertificates: true,
      },
      appleiap: gateway.apple && {
        bundleId: m.appleBundleId,
        environment: "Sandbox",
        // The sandbox's own App Store root (test only): trust it in development and tests, never in production.
        rootCertificates: [gateway.apple.rootCertificate],
      },
      wxpayVirtual: m.wechat.virtual && {
        appId: m.wechat.appIds.miniProgram,
        ...m.wechat.virtual,
        env: 0,
        apiBaseUrl: baseUrl,
      },
      alipay: {
        gateway: `${baseUrl}/gateway.do`,
        appId: m.alipay.appId,
        sellerId: m.alipay.sellerId,
        privateKey: m.alipay.appPrivateKey,
        alipayPublicKey: gateway.alipay.publicKey,
        /** Certificate mode instead of alipayPublicKey. */
        certificates: {
          appCertContent: m.alipay.appCertificate,
          alipayPublicCertContent: gateway.alipayCertificates?.publicKeyCertificate,
          alipayRootCertContent: gateway.alipayCertificates?.rootCertificate,
        },
      },
    })),
  };
}
